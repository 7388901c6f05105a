/**
 * Server-Sent Events: an async iterable of events written as a `text/event-stream` response, with
 * a comment every 15 s so proxies keep the connection, ended when the client goes away.
 *
 * @module
 */

/** One event: its `id:` (the resume point the browser sends back as Last-Event-ID), name, data. */
export interface SseEvent {
  /** The sequence a reconnect resumes after; absent: none. */
  readonly id?: string;
  /** The event's name (`event:`). */
  readonly event: string;
  /** Its data, sent as one line of JSON. */
  readonly data: unknown;
}

/** Formats one event as the wire text of an event stream. */
export function formatSse(event: SseEvent): string {
  const id = event.id !== undefined ? `id: ${event.id}\n` : "";
  return `${id}event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/**
 * A streaming response of `events(signal)`; `signal` aborts when the client disconnects (the
 * body stream is cancelled) or `closing` aborts, which must end the iterable. (Not the request's signal: Deno.serve
 * aborts that once the response starts, by its legacy rule.)
 */
export function sseResponse(
  events: (signal: AbortSignal) => AsyncIterable<SseEvent>,
  closing?: AbortSignal,
): Response {
  const controller = new AbortController();
  // A server shutting down ends its streams (else they would hold its graceful shutdown open);
  // the browser reconnects to the next instance and resumes.
  const abort = () => controller.abort();
  closing?.addEventListener("abort", abort, { once: true });
  const encoder = new TextEncoder();
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(out) {
      keepAlive = setInterval(() => {
        try {
          out.enqueue(encoder.encode(": keep-alive\n\n"));
        } catch { /* closed */ }
      }, 15_000);
      out.enqueue(encoder.encode(": connected\n\n"));
      (async () => {
        try {
          for await (const event of events(controller.signal)) {
            if (controller.signal.aborted) break;
            out.enqueue(encoder.encode(formatSse(event)));
          }
          // "end" only when the stream is complete (a worker's last line sent), not when it was cut
          // short: the browser reconnects after a cut and resumes.
          if (!controller.signal.aborted) {
            out.enqueue(encoder.encode(formatSse({ event: "end", data: {} })));
          }
        } catch (err) {
          if (!controller.signal.aborted) {
            const message = err instanceof Error ? err.message : String(err);
            out.enqueue(
              encoder.encode(
                formatSse({ event: "failure", data: { message } }),
              ),
            );
          }
        } finally {
          clearInterval(keepAlive);
          closing?.removeEventListener("abort", abort);
          try {
            out.close();
          } catch { /* already closed */ }
        }
      })();
    },
    cancel() {
      clearInterval(keepAlive);
      controller.abort();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
