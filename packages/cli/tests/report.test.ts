import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLS_MODEL, REPO_ROOT } from '../../../test-support/paths';
import { openReportPage, type ReportPage } from '../../../test-support/browser';
import { qcal, tmpDir, readJson, writeImageLike } from './helpers';

/** Screenshots of the rendered report are kept here (gitignored) for a person to look at. */
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'report');

describe('report.html of a real calibration, rendered in headless Chromium', () => {
  const dir = tmpDir('qcal-report-');
  let page: ReportPage;
  let run: any;
  let fallback: any;
  let evaluation: any;

  beforeAll(async () => {
    writeImageLike(path.join(dir, 'data'), 10, 5);
    // A selection of ~50 tensors keeps the fallback search (ranking every tensor) to seconds.
    const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--collector', 'minmax', '--collector', 'hfmg', '--out', 'out',
      '--include', 'op:BatchNormalization', '--include', 'op:Relu', '--include', 'op:Input', '--num-samples', '6',
      '--evaluate', '--eval-samples', '3', '--target-cos', '0.99995', '--max-float-layers', '3'], dir);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote out[/\\]report\.html/);
    run = readJson(path.join(dir, 'out', 'run.json'));
    fallback = readJson(path.join(dir, 'out', 'minmax.fallback.json'));
    evaluation = readJson(path.join(dir, 'out', 'hfmg.evaluation.json'));
    page = await openReportPage(path.join(dir, 'out', 'report.html'), { width: 1600, height: 1100 });
  });
  afterAll(async () => {
    await page?.close();
  });

  it('is one self-contained file: no external scripts, styles, images or fetches', () => {
    const html = fs.readFileSync(path.join(dir, 'out', 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(page.requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
  });

  it('renders without console errors, a row and a histogram chart per tensor', async () => {
    expect(page.errors).toEqual([]);
    const names = Object.keys(run.histograms.tensors);
    expect(names.length).toBeGreaterThan(40);
    expect(await page.rowNames()).toEqual(names);
    // Charts are drawn lazily as rows scroll into view: scroll the table through, then every row has one.
    await page.scrollTableThrough();
    const drawn = await page.page.$$eval('#tensor-table tbody tr', (rows) => rows.map((r) => r.querySelectorAll('.spark svg.chart path.bars').length));
    expect(drawn).toEqual(names.map(() => 1));
    await page.screenshot(path.join(ARTIFACTS, 'classifier-report.png'));
  });

  it('draws every collector range on the selected tensor and says what each clips', async () => {
    // A tensor both collectors quantize (a kept-float one's label carries a '*': next test).
    const keptFloat = new Set(['minmax', 'hfmg'].flatMap((c) => Object.keys(readJson(path.join(dir, 'out', `${c}.table.json`)).meta?.floatFallback?.tensors ?? {})));
    const name = Object.keys(run.histograms.tensors).filter((t) => !keptFloat.has(t))[5]!;
    await page.page.click(`#tensor-table tr[data-tensor="${name}"]`);
    await page.page.waitForSelector(`#detail[data-tensor="${name}"] svg.hist`);
    const ranges = await page.page.$$eval('#detail svg.hist g.range text', (ts) => ts.map((t) => t.textContent));
    expect(ranges.sort()).toEqual(['hfmg', 'minmax']);
    const rows = await page.page.$$eval('#detail table tbody tr', (trs) => trs.map((tr) => tr.textContent));
    // minmax's range is the data's min and max: it clips nothing.
    expect(rows.find((r) => r!.startsWith('minmax'))).toMatch(/\]\s*[\d.e−-]+\s*0(?!\.)/);
    await page.screenshot(path.join(ARTIFACTS, 'classifier-detail.png'), '#s-tensors');
  });

  it('marks a range the fallback search kept in higher precision with a *', async () => {
    const hfmgFloat = Object.keys(readJson(path.join(dir, 'out', 'hfmg.table.json')).meta?.floatFallback?.tensors ?? {});
    const minmaxFloat = new Set(Object.keys(readJson(path.join(dir, 'out', 'minmax.table.json')).meta?.floatFallback?.tensors ?? {}));
    const name = hfmgFloat.find((t) => !minmaxFloat.has(t) && t in run.histograms.tensors);
    if (!name) return; // the two searches kept the same tensors: nothing to tell apart
    await page.page.click(`#tensor-table tr[data-tensor="${name}"]`);
    await page.page.waitForSelector(`#detail[data-tensor="${name}"] svg.hist`);
    const ranges = await page.page.$$eval('#detail svg.hist g.range text', (ts) => ts.map((t) => t.textContent));
    expect(ranges.sort()).toEqual(['hfmg*', 'minmax']);
  });

  it('sorts by per-layer SQNR: the worst layer of the evaluation comes first', async () => {
    await page.page.click('#tensor-table th[data-key="sqnr:hfmg"]');
    const first = (await page.rowNames())[0];
    const worst = [...evaluation.layers].sort((a: any, b: any) => Number(a.sqnrDb) - Number(b.sqnrDb))[0].name;
    expect(first).toBe(worst);
    const points = await page.page.$$eval('#evaluation svg.along circle.pt', (c) => c.length);
    expect(points).toBe(evaluation.layers.length + readJson(path.join(dir, 'out', 'minmax.evaluation.json')).layers.length);
  });

  it('lists the layers the fallback search kept in higher precision, with why', async () => {
    expect(fallback.exclude.length).toBeGreaterThan(0);
    const hfmgFallback = readJson(path.join(dir, 'out', 'hfmg.fallback.json'));
    // One table per collector (hfmg before minmax: file-name order), each in the search's order.
    const kept = await page.page.$$eval('#sensitivity table tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    expect(kept).toEqual([...hfmgFallback.exclude, ...fallback.exclude]);
    const floatRows = await page.page.$$eval('#tensor-table tr.is-float', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.tensor));
    expect(floatRows.sort()).toEqual([...new Set([...fallback.exclude, ...hfmgFallback.exclude])].sort());
    await page.screenshot(path.join(ARTIFACTS, 'classifier-sensitivity.png'), '#s-sens');
  });

  it('qcal report DIR rebuilds the same page from the files', async () => {
    const before = fs.readFileSync(path.join(dir, 'out', 'report.html'), 'utf8');
    fs.rmSync(path.join(dir, 'out', 'report.html'));
    const r = await qcal(['report', 'out'], dir);
    expect(r.code).toBe(0);
    const after = fs.readFileSync(path.join(dir, 'out', 'report.html'), 'utf8');
    const strip = (s: string): string => s.replace(/"generatedAt":"[^"]+"/, '');
    expect(strip(after)).toBe(strip(before));
    const bad = await qcal(['report', 'data'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no calibration output here/);
  });
});
