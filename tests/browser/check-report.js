// Opens each report in headless chromium and checks it as a reader would get it: no console
// error, no failed resource, every section and chart rendered, and the figures the tables and
// maps carry equal to the JSON document of the same run. Dumps each page's DOM and keeps a
// screenshot next to it. Prints "N passed, M failed"; exit status 1 when M > 0.
//
// usage: node check-report.js OUTDIR CHROMIUM CASE...   where CASE is name:report.html:doc.json[,doc.json]
'use strict';
const fs = require('fs');
const path = require('path');
const [outDir, chromium, ...cases] = process.argv.slice(2);
const puppeteer = require(path.join(outDir, 'node_modules', 'puppeteer-core'));

let passed = 0, failed = 0;
function check(name, ok, detail) {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// What the page shows, read from the live DOM after layout.
function readPage() {
  const num = (e, a) => e.getAttribute(a);
  const sections = [...document.querySelectorAll('section[data-section]')].map(s => s.dataset.section);
  const charts = [...document.querySelectorAll('figure[data-chart]')].map(f => {
    const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    return { name: f.dataset.chart, width: box.width, height: box.height, paths: svg ? svg.querySelectorAll('path').length : 0 };
  });
  const rects = sel => [...document.querySelectorAll(sel)].map(r => [num(r, 'data-kind'), num(r, 'data-start'), num(r, 'data-end')]);
  const rows = (sel, attrs) => [...document.querySelectorAll(sel)].map(r => attrs.map(a => r.getAttribute(a)));
  const buddy = {};
  for (const t of document.querySelectorAll('table[data-table=buddyinfo]'))
    buddy[t.dataset.zone] = [...t.querySelectorAll('tr[data-order]')].map(r => r.dataset.freeBlocks);
  const titles = [...document.querySelectorAll('svg.physmap rect')].map(r => r.querySelector('title') ? r.querySelector('title').textContent : '');
  return {
    sections, charts, buddy, titles,
    map: rects('svg.physmap[data-scale=linear] rect.e820'),
    mapLog: rects('svg.physmap[data-scale=log] rect.e820'),
    reserved: rects('svg.physmap[data-scale=linear] rect.reserved'),
    regions: rects('svg.vamap rect.region').filter(r => r[0] !== 'unused' && r[0] !== 'non-canonical'),
    slabs: rows('tr[data-cache]', ['data-cache', 'data-active-objs', 'data-num-objs']),
    tables: rows('tr[data-level]', ['data-level', 'data-count']),
    faults: rows('table[data-table=faults] tr[data-kind]', ['data-kind', 'data-count']),
    rss: rows('tr[data-step]', ['data-step', 'data-process-pages', 'data-swapped', 'data-pages-out', 'data-pages-in']),
    latency: rows('table[data-table=fault-latency] tr[data-from-ns]', ['data-from-ns', 'data-latency-count']),
    replays: [...document.querySelectorAll('section[data-section=trace-replay]')].map(s => ({
      allocator: s.dataset.allocator,
      pages: [...s.querySelectorAll('tr[data-event]')].map(r => [r.dataset.event, r.dataset.freeFrames, r.dataset.largestFreeOrder, r.dataset.freeBlocks]),
      bytes: [...s.querySelectorAll('tr[data-event]')].map(r => [r.dataset.event, r.dataset.footprintBytes, r.dataset.liveBytes]),
      figures: Object.fromEntries([...s.querySelectorAll('[data-figure]')].map(b => [b.dataset.figure, b.textContent])),
      kinds: [...s.querySelectorAll('table[data-table=events-by-kind] tr[data-kind]')].map(r => [r.dataset.kind, r.dataset.replayed, r.dataset.notReplayed]),
    })),
    memTotal: (document.querySelector('[data-figure=total_kb]') || {}).textContent,
  };
}

(async () => {
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  for (const c of cases) {
    const [name, html, jsons] = c.split(':');
    // Addresses above 2^53 lose digits as JS numbers: such integers are read as strings.
    const docs = jsons.split(',').map(f => JSON.parse(fs.readFileSync(f, 'utf8').replace(/([:\[,]\s*)(\d{16,})(?=\s*[,\]}])/g, '$1"$2"')));
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    const problems = [];
    page.on('console', m => { if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', e => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', r => problems.push(`failed resource: ${r.url()}`));
    page.on('request', r => { if (!r.url().startsWith('file://')) problems.push(`network request: ${r.url()}`); });
    await page.goto('file://' + path.resolve(html), { waitUntil: 'load' });
    check(`${name}: no console error, failed resource or network request`, problems.length === 0, problems.join('; '));
    fs.writeFileSync(path.join(outDir, `${name}.dom.html`), await page.content());
    await page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
    const p = await page.evaluate(readPage);

    for (const doc of docs) {
      if (doc.command === 'boot') {
        for (const s of ['physical-map', 'buddyinfo', 'kmalloc']) check(`${name}: section ${s}`, p.sections.includes(s));
        const map = doc.map.map(e => [e.type, String(e.start), String(e.end)]);
        check(`${name}: physical map (linear) = JSON map`, same(p.map, map), JSON.stringify(p.map));
        check(`${name}: physical map (log) = JSON map`, same(p.mapLog, map));
        check(`${name}: reservations = JSON reserved`, same(p.reserved, doc.reserved.map(e => [e.owner, String(e.start), String(e.end)])));
        check(`${name}: every map range has a hover title with its size`, p.titles.length > 0 && p.titles.every(t => /\[0x[0-9a-f]+, 0x[0-9a-f]+\) [0-9.]+ (bytes|KiB|MiB|GiB|TiB)/.test(t)), p.titles.find(t => !/\) [0-9.]+ /.test(t)));
        check(`${name}: MemTotal = JSON meminfo.total_kb`, p.memTotal === String(doc.meminfo.total_kb), p.memTotal);
        for (const b of doc.buddyinfo) {
          const z = doc.zones.find(z => z.name === b.zone);
          if (!z || z.managed_frames === 0) continue;
          check(`${name}: buddyinfo ${b.zone} = JSON`, same(p.buddy[b.zone], b.free_blocks.map(String)), JSON.stringify(p.buddy[b.zone]));
          for (const ch of [`buddyinfo-${b.zone}`, `fragmentation-${b.zone}`]) check(`${name}: chart ${ch}`, p.charts.some(x => x.name === ch));
        }
        check(`${name}: slabinfo = JSON`, same(p.slabs.slice().sort(), doc.slabinfo.map(c => [c.name, String(c.active_objs), String(c.num_objs)]).sort()));
        check(`${name}: chart kmalloc-objects`, p.charts.some(x => x.name === 'kmalloc-objects'));
      }
      if (doc.command === 'pagetable') {
        check(`${name}: section address-space`, p.sections.includes('address-space'));
        const regions = doc.layout.regions.map(r => [r.kind, String(r.start), String(r.end)]).sort((a, b) => (BigInt(a[1]) < BigInt(b[1]) ? -1 : 1));
        check(`${name}: address-space regions = JSON layout`, same(p.regions, regions), JSON.stringify(p.regions));
        check(`${name}: page-table pages per level = JSON tables`, same(p.tables, doc.tables.map(t => [t.level, String(t.count)])));
        check(`${name}: chart page-table-pages`, p.charts.some(x => x.name === 'page-table-pages'));
      }
      if (doc.command === 'workload') {
        check(`${name}: section workload`, p.sections.includes('workload'));
        check(`${name}: faults = JSON`, same(p.faults, Object.entries(doc.faults).map(([k, v]) => [k, String(v.count)])), JSON.stringify(p.faults));
        check(`${name}: resident set = JSON rss`, same(p.rss, doc.rss.map(s => [String(s.step), String(s.process_pages), String(s.swapped), String(s.pages_out), String(s.pages_in)])));
        for (const ch of ['resident-set', 'paging', 'faults', 'fault-latency']) check(`${name}: chart ${ch}`, p.charts.some(x => x.name === ch));
        check(`${name}: fault latency histogram = JSON fault_latency`, same(p.latency, doc.fault_latency.map(b => [String(b.from_ns), String(b.count)])), JSON.stringify(p.latency));
      }
      if (doc.command === 'trace replay') {
        const r = p.replays.find(x => x.allocator === doc.allocator);
        check(`${name}: section trace-replay for ${doc.allocator}`, r !== undefined);
        if (!r) continue;
        if (doc.byte_level) {
          check(`${name}: footprint and live bytes over the replay = JSON samples`, same(r.bytes, doc.samples.map(s => [String(s.event), String(s.footprint_bytes), String(s.live_bytes)])), JSON.stringify(r.bytes.slice(0, 3)));
          check(`${name}: peak live bytes = JSON`, r.figures.peak_live_bytes === String(doc.peak_live_bytes), r.figures.peak_live_bytes);
          check(`${name}: chart footprint-${doc.allocator}`, p.charts.some(x => x.name === `footprint-${doc.allocator}`));
        } else {
          check(`${name}: free pages by order over the replay = JSON samples`, same(r.pages, doc.samples.map(s => [String(s.event), String(s.free_frames), String(s.largest_free_order), s.free_blocks.join(' ')])), JSON.stringify(r.pages.slice(0, 3)));
          check(`${name}: peak frames = JSON`, r.figures.peak_frames === String(doc.peak_frames), r.figures.peak_frames);
          for (const ch of [`free-pages-by-order-${doc.allocator}`, `largest-free-order-${doc.allocator}`]) check(`${name}: chart ${ch}`, p.charts.some(x => x.name === ch));
        }
        check(`${name}: replayed events = JSON`, r.figures.replayed_events === String(doc.replayed_events), r.figures.replayed_events);
        const kinds = Object.keys(doc.replayed).filter(k => doc.replayed[k] + doc.not_replayed[k] > 0).map(k => [k, String(doc.replayed[k]), String(doc.not_replayed[k])]);
        check(`${name}: events by kind = JSON replayed and not_replayed`, same(r.kinds, kinds), JSON.stringify(r.kinds));
        if (doc.replayed.map + doc.replayed.unmap > 0) {
          check(`${name}: peak mappings = JSON`, r.figures.peak_mappings === String(doc.peak_mappings), r.figures.peak_mappings);
          check(`${name}: live mappings at the end = JSON`, r.figures.live_mappings === String(doc.end.live_mappings), r.figures.live_mappings);
        }
      }
    }
    for (const ch of p.charts) check(`${name}: chart ${ch.name} drawn`, ch.width > 100 && ch.height > 50 && ch.paths > 0, JSON.stringify(ch));
    await page.close();
  }
  await browser.close();
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})().catch(e => { console.log(`browser check: ${e.stack || e}`); console.log(`${passed} passed, ${failed + 1} failed`); process.exit(1); });
