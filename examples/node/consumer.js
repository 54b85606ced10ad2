#!/usr/bin/env node
// A consumer of the gamification event log with node-postgres (the npm package "pg").
//
//   npm ci && DATABASE_URL=postgres://ops@localhost/app node consumer.js [CONSUMER] [MAX_EVENTS] [SECONDS]
//
// Connects with DATABASE_URL, or with libpq's PG* variables when it is unset, registers the
// consumer (default "node"; from now on; an existing one keeps its cursor), LISTENs on
// gamification_events, then prints each event as a JSON line: every batch is fetched,
// printed and acknowledged in one transaction, so a crash before COMMIT reads it again
// (at least once; the event id makes handling idempotent). Writes "listening" on stderr
// once ready. Stops after MAX_EVENTS events (exit 0) or SECONDS seconds (exit 3);
// without them it runs until Ctrl-C. Needs an operator's role (events_fetch, events_ack).
//
// Types. pg returns bigint (int8) as a string by default, to stay exact beyond 2^53; event
// ids and points are far below that, so int8 is parsed to a Number here: id and points are
// numbers (JSON numbers when printed). Use BigInt as the parser instead if yours may not be.
// `at` (timestamptz) is a Date, printed as an ISO 8601 string in UTC with milliseconds.
// `txid` (xid8) stays a string: it is only handed back to events_ack. `data` (jsonb) is an
// object or null.
'use strict';
const { once } = require('node:events');
const { Client, types } = require('pg');

types.setTypeParser(types.builtins.INT8, Number);

async function main() {
  const [consumer = 'node', max = 'Infinity', seconds] = process.argv.slice(2);
  const maxEvents = Number(max);
  const timer = seconds && setTimeout(() => {
    console.error(`stopped after ${seconds} s`);
    process.exit(3);
  }, seconds * 1000);
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  let woken = false;  // a NOTIFY arrived since the last fetch began
  client.on('notification', () => { woken = true; });
  await client.query('LISTEN gamification_events');
  await client.query('SELECT gamification.consumer_register($1)', [consumer]);
  console.error('listening');

  for (let handled = 0; handled < maxEvents;) {
    woken = false;
    await client.query('BEGIN');  // fetch, handle, acknowledge: one transaction
    const { rows } = await client.query('SELECT * FROM gamification.events_fetch($1, $2)',
                                        [consumer, Math.min(100, maxEvents - handled)]);
    for (const event of rows) console.log(JSON.stringify(event));  // your handler: idempotent by event.id
    const last = rows.at(-1);
    if (last) await client.query('SELECT gamification.events_ack($1, $2, $3)', [consumer, last.txid, last.id]);
    await client.query('COMMIT');  // an error instead ends the process, and its connection rolls back
    handled += rows.length;
    if (!last && !woken) {  // sleep until a commit notifies, or 5 s
      await once(client, 'notification', { signal: AbortSignal.timeout(5000) }).catch(() => {});
    }
  }
  clearTimeout(timer);
  await client.end();
}

main().catch((err) => {
  console.error(`consumer.js: ${err.message}`);
  process.exit(1);
});
