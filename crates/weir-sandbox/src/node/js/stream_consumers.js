// `stream/consumers`: a whole stream (or async iterable) read into one value.
'use strict';

async function buffer(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

module.exports = {
  buffer,
  arrayBuffer: async (stream) => {
    const bytes = await buffer(stream);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  },
  text: async (stream) => (await buffer(stream)).toString('utf8'),
  json: async (stream) => JSON.parse((await buffer(stream)).toString('utf8')),
  blob: async (stream) => new (require('internal/blob').Blob)([await buffer(stream)]),
};
