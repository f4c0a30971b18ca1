/** A server for bench/signup-api.ts, in its own process so the load generator does not share its CPU time. */
import Fastify from 'fastify';
import { buildApp } from '../services/api/app.ts';
import { benchServices } from './support.ts';

const [mode, port] = [process.argv[2], Number(process.argv[3])];
if (mode === 'bare') {
  // The ceiling: Fastify parsing a JSON body and answering 202, nothing else.
  const app = Fastify();
  app.post('/api/subscriptions', async (_req, reply) => reply.code(202).send({ status: 'pending', message: 'ok' }));
  await app.listen({ port, host: '127.0.0.1' });
  console.log('ready');
  // Exiting rather than dying of the signal lets `--cpu-prof` write its profile.
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
} else {
  const bench = await benchServices({
    SIGNUP_LIMIT_PER_IP: '1000000000',
    SIGNUP_LIMIT_PER_ADDRESS: '1000000000',
    SIGNUP_LIMIT_GLOBAL: '1000000000',
  });
  const app = await buildApp(bench.services);
  await app.listen({ port, host: '127.0.0.1' });
  console.log('ready');
  process.on('SIGTERM', async () => {
    await app.close();
    await bench.close();
    process.exit(0);
  });
}
