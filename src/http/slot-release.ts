/**
 * Holds a response's concurrency slots until the response is over: its body fully streamed to the
 * client, the client gone (the body cancelled), or the body failed mid-way.
 */

/**
 * Returns `response` with a body that gives the slots back (`release`, called once) when it ends,
 * fails or is cancelled. The release is awaited before the client sees the end of the body, so a
 * client that has read a whole response can count on its slot being free. `keepAlive` keeps the
 * release running if the runtime would otherwise stop at a disconnect (`ctx.waitUntil`).
 * A response without a body gives its slots back before it is returned.
 */
export async function releaseAfterBody(
  response: Response,
  release: () => Promise<void>,
  keepAlive: (work: Promise<void>) => void,
): Promise<Response> {
  const source = response.body;
  if (!source) {
    await release();
    return response;
  }
  let released: Promise<void> | undefined;
  const once = () => {
    if (!released) {
      released = release();
      keepAlive(released);
    }
    return released;
  };
  const reader = source.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        await once();
        controller.error(error);
        return;
      }
      if (chunk.done) {
        await once();
        controller.close();
      } else {
        controller.enqueue(chunk.value);
      }
    },
    async cancel(reason) {
      // The client went away mid-response: its slot is free at once, not when a lease ends.
      await once();
      await reader.cancel(reason).catch(() => {});
    },
  });
  return new Response(body, response);
}
