// What a joining browser downloads: the scripts built from the sources, each
// with its source map beside it rather than inside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSiteAssets } from '../../coordinator/site-assets.ts';

test('each page script links its source map, served beside it as JSON, instead of carrying it inline', async () => {
  const assets = await buildSiteAssets();
  for (const name of ['join', 'dashboard', 'worker', 'clock']) {
    const script = assets.get(`/${name}.js`);
    assert.ok(script, `/${name}.js is served`);
    const text = script.body.toString();
    assert.doesNotMatch(text, /sourceMappingURL=data:/, `${name}.js carries no inline map`);
    assert.match(text, new RegExp(`//# sourceMappingURL=${name}\\.js\\.map\\s*$`));
    const map = assets.get(`/${name}.js.map`);
    assert.ok(map, `/${name}.js.map is served`);
    assert.match(map.type, /^application\/json/);
    const parsed = JSON.parse(map.body.toString()) as { sources: string[] };
    assert.ok(parsed.sources.length > 0);
  }
});
