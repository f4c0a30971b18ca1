import pg from 'pg';
const c = new pg.Client('postgres://postgres@127.0.0.1:55999/postgres'); await c.connect();
if (process.argv[2] === 'reset') { await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'); await c.query('SELECT pg_stat_statements_reset()'); }
else {
 const r = await c.query(`SELECT calls, round(total_exec_time::numeric,0) AS ms, round((total_exec_time/calls)::numeric,3) AS per, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25`);
 for (const x of r.rows) console.log(String(x.calls).padStart(7), String(x.ms).padStart(7), String(x.per).padStart(9), String(x.rows).padStart(8), x.q);
}
await c.end();
