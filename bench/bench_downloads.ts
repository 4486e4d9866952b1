/**
 * The download scenario's other side: {@linkcode uploadFile} shares a file of
 * random bytes through a member's `/upload` address, and
 * {@linkcode runDownloads} downloads its link, many at once, again and again
 * for a while, checking every body's length. The load process runs the
 * downloads in a Worker of this module, so that they take a thread of their
 * own and the probe member, on the load process's main thread, times its
 * echoes undisturbed by them.
 *
 * @module
 */

/** What {@linkcode runDownloads} is asked. */
export interface DownloadConfig {
  /** The shared file's link. */
  url: string;
  /** Its length: every whole body must have it. */
  bytes: number;
  /** Downloads under way at once. */
  parallel: number;
  /** For how long downloads start again, in seconds; those under way then are cut. */
  seconds: number;
  /**
   * Bytes a second each download reads at most, as over a link of that
   * speed; 0 or absent: as fast as it can. The kernel's socket buffers still
   * take the first megabytes of each download at once (several, on
   * loopback): past them, TCP holds the server to the reader's pace.
   */
  rate?: number;
}

/** What the downloads did. */
export interface DownloadReport {
  /** Downloads read whole, with the right length. */
  finished: number;
  /** Downloads that failed, or ended with another length. */
  failed: number;
  /** Downloads under way when the time was up, cut. */
  cut: number;
  /** Body bytes received in the time, cut downloads' included. */
  bytes: number;
  /** How long they ran. */
  seconds: number;
}

/**
 * Downloads `config.url` with `config.parallel` downloads at once, each
 * starting again as it ends, for `config.seconds`; each body is read through
 * and its length checked, and nothing of it is kept.
 */
export async function runDownloads(config: DownloadConfig): Promise<DownloadReport> {
  const report: DownloadReport = { finished: 0, failed: 0, cut: 0, bytes: 0, seconds: 0 };
  const stop = new AbortController();
  const start = performance.now();
  const timer = setTimeout(() => stop.abort(), config.seconds * 1000);
  const rate = config.rate ?? 0;
  const one = async () => {
    while (!stop.signal.aborted) {
      let length = 0;
      try {
        const began = performance.now();
        const response = await fetch(config.url, { signal: stop.signal });
        if (!response.ok) {
          await response.body?.cancel();
          report.failed++;
          continue;
        }
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        for (let read = await reader.read(); !read.done; read = await reader.read()) {
          length += read.value.length;
          report.bytes += read.value.length;
          // At `rate`, the next read waits until this much would have come.
          if (rate > 0) {
            await pause(began + (length / rate) * 1000 - performance.now(), stop.signal);
          }
          // What is already buffered still reads after the abort: the time is up all the same.
          if (stop.signal.aborted) {
            await reader.cancel().catch(() => {});
            throw stop.signal.reason;
          }
        }
        if (length === config.bytes) report.finished++;
        else report.failed++;
      } catch {
        if (stop.signal.aborted) {
          report.cut++;
        } else {
          report.failed++;
          // Not a tight loop against a server that refuses connections.
          await pause(10);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: config.parallel }, one));
  clearTimeout(timer);
  report.seconds = (performance.now() - start) / 1000;
  return report;
}

/** Waits `ms`, or until `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Runs {@linkcode runDownloads} in a Worker, so that it has a thread of its own. */
export function runDownloadsInWorker(config: DownloadConfig): Promise<DownloadReport> {
  const worker = new Worker(import.meta.url, { type: "module" });
  return new Promise<DownloadReport>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<DownloadReport>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`the download worker failed: ${event.message}`));
    };
    worker.postMessage(config);
  }).finally(() => worker.terminate());
}

/** `size` random bytes: a file nothing can compress or recognise. */
export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 65,536 bytes at a time.
  for (let at = 0; at < size; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)));
  }
  return bytes;
}

/**
 * PUTs `bytes` as `name` to an upload address (`http://HOST:PORT/upload/TOKEN`,
 * from the answer to `/upload`) and returns the shared file's link, which
 * the server answers with; throws with the server's answer otherwise.
 */
export async function uploadFile(
  address: string,
  name: string,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const response = await fetch(`${address}/${encodeURIComponent(name)}`, {
    method: "PUT",
    body: bytes,
  });
  const text = (await response.text()).trim();
  if (response.status !== 201) throw new Error(`upload refused (${response.status}): ${text}`);
  return text;
}

// As the Worker's main module: run the downloads asked for, answer with the report.
if (import.meta.main && "WorkerGlobalScope" in globalThis) {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<DownloadConfig>) => void) | null;
    postMessage(message: DownloadReport): void;
  };
  scope.onmessage = async (event) => scope.postMessage(await runDownloads(event.data));
}
