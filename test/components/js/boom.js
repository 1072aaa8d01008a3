// Throws on demand: /boom an Error, /typed an app-error record, /long an Error with a 100 000-character message.
export const handler = {
  handle(req) {
    if (req.path === '/typed') throw { kind: 'unprocessable', message: 'typed failure' };
    if (req.path === '/long') throw new Error('x'.repeat(100000));
    throw new Error('boom');
  },
};
