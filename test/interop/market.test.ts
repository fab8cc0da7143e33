/**
 * Every dataset manifest records venue and market kind (src/core/market.ts):
 * importers learn it from the data, synth says synthetic/spot, the recorder
 * from its endpoint; old manifests read as unknown; one symbol never mixes
 * kinds (the writer refuses, and a manifest that does is refused by replay).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BINANCE_COINM,
  BINANCE_SPOT,
  BINANCE_USDM,
  SYNTHETIC_SPOT,
  UNKNOWN_MARKET,
  binanceFuturesKind,
  binanceMarketFromEndpoint,
} from '../../src/core/market.js';
import { LEGACY_MANIFEST_FILE, MANIFEST_FILE, readManifest } from '../../src/dataset/manifest.js';
import { Dataset } from '../../src/dataset/reader.js';
import { DatasetWriter } from '../../src/dataset/writer.js';
import { runImport } from '../../src/import/run.js';
import { planFromFirstLine } from '../../src/import/vision.js';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/index.js';
import { REALDATA, REPO, runCli } from '../helpers/cli.js';
import { loadConfig } from '../../src/config/load.js';
import { replay } from '../../src/replay/replay.js';
import { tmpDir } from '../import/helpers.js';

const real = (f: string) => path.join(REALDATA, f);

describe('market kind', () => {
  it('ws-capture: spot, USD-M and COIN-M captures are told apart from their messages', async () => {
    const cases = [
      ['spot/ethusdt_20240808.gz', 'ETHUSDT', BINANCE_SPOT],
      ['usdm/ethusdt_20240808.gz', 'ETHUSDT', BINANCE_USDM],
      ['cm/ethusd_perp_20240808.gz', 'ETHUSD_PERP', BINANCE_COINM],
    ] as const;
    for (const [file, symbol, want] of cases) {
      const out = path.join(tmpDir('mk-ws'), 'd');
      const r = await runImport({ format: 'ws-capture', inputs: [real(file)], out });
      expect(r.manifest.markets[symbol], file).toEqual(want);
      for (const f of r.manifest.files) expect({ venue: f.venue, market: f.market }, f.path).toEqual(want);
      expect(readManifest(out).markets[symbol]).toEqual(want);
    }
  }, 60_000);

  it('ws-capture: a spot and a USD-M capture of the same symbol are refused, naming both kinds', async () => {
    const out = path.join(tmpDir('mk-mix'), 'd');
    const r = runCli([
      'import',
      '--format',
      'ws-capture',
      '--in',
      real('spot/btcusdt_20240808.gz'),
      real('usdm/btcusdt_20240808.gz'),
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/symbol BTCUSDT mixes market kinds binance\/spot and binance\/usdm/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('binance-vision: spot vs futures from the columns, USD-M vs COIN-M from the symbol', () => {
    const plan = (name: string, first: string) => planFromFirstLine(name, first).market;
    expect(plan('BTCUSDT-aggTrades-2024-08-08.csv', '1,61800.1,0.01,10,10,1723161600000,true,true')).toEqual(
      BINANCE_SPOT,
    );
    expect(
      plan(
        'BTCUSDT-aggTrades-2024-08-08.csv',
        'agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker',
      ),
    ).toEqual(BINANCE_USDM);
    expect(
      plan(
        'BTCUSD_PERP-bookTicker-2024-08-08.csv',
        'update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time',
      ),
    ).toEqual(BINANCE_COINM);
    expect(plan('ETHUSDT-trades-2024-08-08.csv', '5,2600.5,0.1,260.05,1723161600000,false,true')).toEqual(BINANCE_SPOT);
    expect(plan('ETHUSDT-trades-2024-08-08.csv', '5,2600.5,0.1,260.05,1723161600000,false')).toEqual(BINANCE_USDM);
  });

  it('synth datasets say synthetic/spot', async () => {
    const out = path.join(tmpDir('mk-syn'), 'd');
    const s = await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT'], hours: 0.02, seed: 3 }, out);
    expect(s.manifest.markets.BTCUSDT).toEqual(SYNTHETIC_SPOT);
  });

  it('recorder endpoints: Binance hosts by market, anything else unknown', () => {
    expect(binanceMarketFromEndpoint('wss://stream.binance.com:9443/stream')).toEqual(BINANCE_SPOT);
    expect(binanceMarketFromEndpoint('wss://data-stream.binance.vision/stream')).toEqual(BINANCE_SPOT);
    expect(binanceMarketFromEndpoint('wss://fstream.binance.com/stream')).toEqual(BINANCE_USDM);
    expect(binanceMarketFromEndpoint('wss://stream.binancefuture.com/stream')).toEqual(BINANCE_USDM);
    expect(binanceMarketFromEndpoint('wss://dstream.binance.com/stream')).toEqual(BINANCE_COINM);
    expect(binanceMarketFromEndpoint('ws://127.0.0.1:9999/stream')).toEqual(UNKNOWN_MARKET);
    expect(binanceMarketFromEndpoint('not a url')).toEqual(UNKNOWN_MARKET);
    expect(binanceFuturesKind('BTCUSDT')).toBe('usdm');
    expect(binanceFuturesKind('BTCUSDT_240927')).toBe('usdm');
    expect(binanceFuturesKind('BTCUSD_PERP')).toBe('coinm');
    expect(binanceFuturesKind('ETHUSD_240927')).toBe('coinm');
  });

  it('a manifest of the old layout (manifest.json, no market fields) reads as unknown; appending keeps its name', async () => {
    const root = path.join(tmpDir('mk-old'), 'd');
    const w = new DatasetWriter(root, { market: BINANCE_SPOT });
    w.trade('BTCUSDT', 1_723_161_600_000, 1_723_161_600_000, 1_723_161_600_000, 1, 100, 1, 0, 1, 1);
    await w.close();
    // rewrite it as a pre-market, pre-rename dataset would have it
    const m = JSON.parse(fs.readFileSync(path.join(root, MANIFEST_FILE), 'utf8'));
    delete m.markets;
    for (const f of m.files) {
      delete f.venue;
      delete f.market;
    }
    fs.writeFileSync(path.join(root, LEGACY_MANIFEST_FILE), JSON.stringify(m));
    fs.rmSync(path.join(root, MANIFEST_FILE));
    const ds = new Dataset(root);
    expect(ds.manifest.markets.BTCUSDT).toEqual(UNKNOWN_MARKET);
    expect(ds.manifest.files[0].market).toBe('unknown');
    const w2 = new DatasetWriter(root, { market: BINANCE_SPOT });
    w2.trade('BTCUSDT', 1_723_161_601_000, 1_723_161_601_000, 1_723_161_601_000, 2, 100, 1, 0, 2, 2);
    const m2 = await w2.close();
    expect(fs.existsSync(path.join(root, MANIFEST_FILE))).toBe(false);
    expect(m2.files.map((f) => f.market)).toEqual(['unknown', 'spot']);
    expect(m2.markets.BTCUSDT).toEqual(BINANCE_SPOT);
  });

  it('the writer refuses a second kind for a symbol, also one appended to', async () => {
    const root = path.join(tmpDir('mk-w'), 'd');
    const w = new DatasetWriter(root, { market: BINANCE_SPOT });
    w.setMarket('ETHUSDT', BINANCE_USDM);
    expect(() => w.setMarket('ETHUSDT', BINANCE_SPOT)).toThrow(/symbol ETHUSDT mixes market kinds/);
    w.trade('BTCUSDT', 1_723_161_600_000, 1_723_161_600_000, 1_723_161_600_000, 1, 100, 1, 0, 1, 1);
    await w.close();
    expect(() => new DatasetWriter(root, { market: BINANCE_USDM })).toThrow(
      /symbol BTCUSDT mixes market kinds binance\/spot and binance\/usdm/,
    );
  });

  it('replay records the markets of its input, and refuses a manifest that mixes kinds for one symbol', async () => {
    const root = path.join(tmpDir('mk-rp'), 'd');
    await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT'], hours: 0.02, seed: 3 }, root);
    const config = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});
    const ok = await replay({ data: root, config, out: path.join(root, '..', 'ok'), runTag: 'ok', progress: false });
    expect(ok.manifest.dataset.markets).toEqual({ BTCUSDT: SYNTHETIC_SPOT });
    const file = path.join(root, MANIFEST_FILE);
    const m = JSON.parse(fs.readFileSync(file, 'utf8'));
    m.files[0].venue = 'binance';
    m.files[0].market = 'usdm';
    fs.writeFileSync(file, JSON.stringify(m));
    const r = runCli(['replay', '--data', root, '--out', path.join(root, '..', 'runs'), '--run-tag', 'x']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/_manifest\.json: symbol BTCUSDT mixes market kinds (binance\/usdm|synthetic\/spot) and/);
    expect(r.stderr).toContain('synthetic/spot');
  });
});
