'use strict';
// express-rate-limit servers for pacer's real-limiter test suite
// (../express_test.go starts this). Usage:
//
//   node server.js LABEL=draft-7 LABEL=draft-6 ...
//
// starts one Express app per argument on 127.0.0.1 (a free port each), every
// one with its own rateLimit (windowMs 1000, limit 20, per client IP, the
// memory store) and standardHeaders set to the draft named, then prints one
// JSON line {"LABEL": port, ...}. Each app serves
//
//   GET  /ping   unlimited, 204
//   GET  /stats  unlimited: every limited answer {at (ms since the epoch, at
//                arrival), status, headers (the rate-limit ones)} and the
//                number of creates per item id
//   POST /items  {"id": "..."}: behind the limiter; creates that item, 201
//
// It exits when its standard input closes, so it never outlives the test.
const express = require('express');
const { rateLimit } = require('express-rate-limit');

const KEEP = /^(x-ratelimit|ratelimit|retry-after)/i;

function makeApp(standardHeaders) {
  const events = [];
  const creates = {};
  const app = express();
  app.get('/ping', (req, res) => res.sendStatus(204));
  app.get('/stats', (req, res) => res.json({ events, creates }));
  app.use((req, res, next) => {
    const at = performance.timeOrigin + performance.now();
    res.on('finish', () => {
      const headers = {};
      for (const [k, v] of Object.entries(res.getHeaders())) {
        if (KEEP.test(k)) headers[k] = String(v);
      }
      events.push({ at, status: res.statusCode, headers });
    });
    next();
  });
  app.use(rateLimit({ windowMs: 1000, limit: 20, standardHeaders, legacyHeaders: false }));
  app.post('/items', express.json(), (req, res) => {
    const id = req.body && req.body.id;
    if (typeof id !== 'string' || id === '') {
      res.status(400).json({ error: 'want {"id":"..."}' });
      return;
    }
    creates[id] = (creates[id] || 0) + 1;
    res.status(201).json({ id });
  });
  return app;
}

async function main() {
  const ports = {};
  const servers = [];
  for (const arg of process.argv.slice(2)) {
    const eq = arg.indexOf('=');
    if (eq < 1) throw new Error(`bad argument ${arg}: want LABEL=draft-N`);
    const label = arg.slice(0, eq);
    const draft = arg.slice(eq + 1);
    const server = await new Promise((resolve, reject) => {
      const s = makeApp(draft).listen(0, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
    servers.push(server);
    ports[label] = server.address().port;
  }
  process.stdout.write(JSON.stringify(ports) + '\n');
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
