/**
 * A real `redis-server` for the tests: started on 127.0.0.1 and a free port in a temporary
 * directory, without persistence unless asked (`persist`), and stopped by its own PID, so that no
 * other Redis on the machine is ever touched.
 *
 * @module
 */

/** Time redis-server has to answer PING after starting, or to exit after SIGTERM. */
const REDIS_START_MS = 10_000;
/** Attempts at a free port: another process may take the one picked before Redis binds it. */
const PORT_ATTEMPTS = 5;

/** A `redis-server` this test started. */
export interface RedisServer {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** Its PID while it runs. */
  readonly pid: number;
  /** `redis://[:password@]127.0.0.1:port/db` (db 0 unless given; `rediss://` with TLS). */
  url(db?: number, password?: string | null): string;
  /** Stops it (SIGTERM, then SIGKILL after a deadline); the port and directory are kept for `restart`. */
  stop(): Promise<void>;
  /** Starts it again on the same port, after stopping it if it runs. */
  restart(): Promise<void>;
  /** Stops it and removes its directory; safe to call twice. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startRedis}. */
export interface StartRedisOptions {
  /** `--requirepass`: clients must AUTH with it. */
  password?: string;
  /** Speak only TLS, with `test/testdata/localhost.crt` (signed by `test/testdata/ca.crt`). */
  tls?: boolean;
  /**
   * Keep the data across `stop()` and `restart()`: an append-only file, synced on every write,
   * so that what a client was told was written is there after a restart. @default {false}
   */
  persist?: boolean;
}

const testdata = (name: string): string => new URL(`./testdata/${name}`, import.meta.url).pathname;

/** A free port on 127.0.0.1, as the system picks one for port 0. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts `redis-server` and resolves once it answers PING; see the module's description. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "chat-redis-test-" });
  let child: Deno.ChildProcess | null = null;
  let port = 0;

  const spawn = async (): Promise<void> => {
    const listen = options.tls
      ? [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        testdata("localhost.crt"),
        "--tls-key-file",
        testdata("localhost.key"),
        "--tls-auth-clients",
        "no",
      ]
      : ["--port", String(port)];
    const args = [
      ...listen,
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      options.persist ? "yes" : "no",
      ...(options.persist ? ["--appendfsync", "always"] : []),
      "--dir",
      dir,
      "--logfile",
      "redis.log",
      "--daemonize",
      "no",
    ];
    if (options.password !== undefined) args.push("--requirepass", options.password);
    let process: Deno.ChildProcess;
    try {
      process = new Deno.Command("redis-server", {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(
        "redis-server is not installed: Debian's redis-server package (.ci/run installs it)",
      );
    }
    child = process;
    let exited: Deno.CommandStatus | null = null;
    process.status.then((status) => exited = status);
    const deadline = Date.now() + REDIS_START_MS;
    while (true) {
      if (exited !== null) {
        child = null;
        const log = await Deno.readTextFile(`${dir}/redis.log`).catch(() => "");
        throw new Error(
          `redis-server on port ${port} exited with ${(exited as Deno.CommandStatus).code}:\n${
            log.slice(-2000)
          }`,
        );
      }
      if (await answersPing(port, options.tls ?? false)) return;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server on port ${port} did not answer PING in ${REDIS_START_MS} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async (): Promise<void> => {
    const process = child;
    if (process === null) return;
    child = null;
    try {
      process.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          process.kill("SIGKILL");
        } catch {
          // Exited meanwhile.
        }
        resolve();
      }, REDIS_START_MS);
    });
    await Promise.race([process.status, killed]);
    clearTimeout(timer);
    await process.status;
  };

  let lastError: unknown = null;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    port = freePort();
    try {
      await spawn();
      lastError = null;
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (lastError !== null) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw lastError;
  }

  let disposed = false;
  return {
    port,
    get pid(): number {
      if (child === null) throw new Error(`redis-server on port ${port} is not running`);
      return child.pid;
    },
    url(db = 0, password = options.password ?? null): string {
      const auth = password === null ? "" : `:${encodeURIComponent(password)}@`;
      return `${options.tls ? "rediss" : "redis"}://${auth}127.0.0.1:${port}/${db}`;
    },
    stop,
    async restart(): Promise<void> {
      await stop();
      // The port was just Redis's own, so it is free again unless something raced for it.
      let error: unknown = null;
      for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
        try {
          return await spawn();
        } catch (failure) {
          error = failure;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      throw error;
    },
    async [Symbol.asyncDispose](): Promise<void> {
      if (disposed) return;
      disposed = true;
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Whether something on `port` answers an inline PING as Redis does (PONG, or NOAUTH with a password). */
async function answersPing(port: number, tls: boolean): Promise<boolean> {
  let conn: Deno.Conn | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), 1000));
  try {
    // On loopback a connection is accepted or refused at once.
    conn = tls
      ? await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [await Deno.readTextFile(testdata("ca.crt"))],
      })
      : await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const read = await Promise.race([conn.read(buffer), expired]);
    if (read === null) return false;
    const reply = new TextDecoder().decode(buffer.subarray(0, read));
    return reply.startsWith("+PONG") || reply.startsWith("-NOAUTH");
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    conn?.close();
  }
}
