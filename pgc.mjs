import pg from 'pg';
const c = new pg.Client('postgres://postgres@127.0.0.1:55999/postgres'); await c.connect();
for (const s of process.argv.slice(2)) console.log((await c.query(s)).rows);
await c.end();
