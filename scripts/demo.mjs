// `npm run demo`: the main job on the bundled default. For now: generate a small seeded nemotron_h
// checkpoint and inspect it; later stages (calibrate → prune → distill → eval) are added as they land.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const cli = (...args) => {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const model = '.hybrid-compress/demo/model';
rmSync(model, { recursive: true, force: true });
cli('fixture', model, '--preset', 'tiny');
cli('inspect', model);
