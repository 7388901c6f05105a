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
 * body stream is cancelled), which must end the iterable. (Not the request's signal: Deno.serve
 * aborts that once the response starts, by its legacy rule.)
 */
export function sseResponse(
  events: (signal: AbortSignal) => AsyncIterable<SseEvent>,
): Response {
  const controller = new AbortController();
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
          out.enqueue(encoder.encode(formatSse({ event: "end", data: {} })));
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
