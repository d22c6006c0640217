/** Web backends for cluster suites: busybox httpd pods that answer with their own name, and a plain GET. */
import { request } from 'node:http';

/** Serves its own pod name at / and stays ready (readiness probe GET /ready) while /www/ready exists. */
export const HTTPD_SERVING_HOSTNAME = 'mkdir -p /www && hostname > /www/index.html && touch /www/ready && exec httpd -f -p 80 -h /www';

/** One GET from the test process (the root namespace, outside every host): the body, or undefined when nothing answered. */
export function fetchText(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
