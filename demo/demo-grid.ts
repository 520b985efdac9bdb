// What every demo does first: find the grid from LADLE_URL and LADLE_TOKEN
// and connect to it, or say plainly what is missing and exit.
import { connect, ConnectionError, type Grid } from 'ladle-grid';

/** `script` is the npm script that runs the demo, for the hint. Awaits before the demo's work, so `grid` is connected. */
export async function demoGrid(script: string): Promise<{ grid: Grid; url: string; token: string }> {
  const url = process.env.LADLE_URL || 'http://127.0.0.1:8080';
  const token = process.env.LADLE_TOKEN;
  if (!token) {
    console.error(
      [
        'demo: LADLE_TOKEN is not set.',
        'Start a grid with `npm start` (it prints a line "Submit: LADLE_URL=... LADLE_TOKEN=..."),',
        'then run the demo with that token, e.g.:',
        `  LADLE_TOKEN=<token> npm run ${script}`,
      ].join('\n'),
    );
    process.exit(2);
  }
  try {
    return { grid: await connect({ url, token }), url, token };
  } catch (e) {
    console.error(`demo: ${e instanceof ConnectionError ? e.message : String(e)}`);
    process.exit(1);
  }
}
