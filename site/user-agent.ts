// A browser and an operating system, read from a User-Agent string, for the
// dashboard's workers table. Good enough to tell a classroom's machines
// apart; not a fingerprinting library. Order matters: Edge and Opera also
// say "Chrome", Chrome also says "Safari", Android also says "Linux".

export interface Described {
  browser: string;
  os: string;
}

const BROWSERS: [RegExp, string][] = [
  [/Edg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/OPR\/(\d+)/, 'Opera'],
  [/SamsungBrowser\/(\d+)/, 'Samsung Internet'],
  [/(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
  [/CriOS\/(\d+)/, 'Chrome'],
  [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/Chromium\/(\d+)/, 'Chromium'],
  [/Chrome\/(\d+)/, 'Chrome'],
  [/Version\/(\d+)(?:\.\d+)*.*Safari\//, 'Safari'],
];

export function describeUserAgent(ua: string): Described {
  let browser = 'Unknown browser';
  for (const [pattern, name] of BROWSERS) {
    const m = pattern.exec(ua);
    if (m) {
      browser = `${name} ${m[1]}`;
      break;
    }
  }
  return { browser, os: osOf(ua) };
}

function osOf(ua: string): string {
  let m: RegExpExecArray | null;
  if ((m = /(?:iPhone|iPad|iPod).*? OS (\d+)/.exec(ua))) return `iOS ${m[1]}`;
  if (/iPhone|iPad|iPod/.test(ua)) return 'iOS';
  if ((m = /Android (\d+)/.exec(ua))) return `Android ${m[1]}`;
  if (/Android/.test(ua)) return 'Android';
  if (/CrOS/.test(ua)) return 'ChromeOS';
  if (/Windows NT 10/.test(ua)) return 'Windows 10/11';
  if ((m = /Windows NT (\d+\.\d+)/.exec(ua))) return `Windows NT ${m[1]}`;
  if (/Windows/.test(ua)) return 'Windows';
  if (/Mac OS X|Macintosh/.test(ua)) return 'macOS';
  if (/Linux|X11/.test(ua)) return 'Linux';
  return 'Unknown OS';
}
