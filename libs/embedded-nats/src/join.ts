import { openWithToken, sealWithToken, statusFor } from '@berth/apiserver';
import { errors, isBerthError, parseJsonObject } from '@berth/errors';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:https';
import { checkHostPort, checkServerName, type ClusterSecrets } from './nats-config';
import { parseMembershipLists, type Membership } from './membership';

/**
 * The join endpoint of an embedded NATS cluster, on every member's HTTPS port: a new server asks it for the
 * members' routes. The caller cannot check the server's certificate yet (it has no CA), and the server does
 * not know the caller, so the endpoint carries its own protection, from the token both must have:
 *
 * - the request proves the token: an HMAC (the join key, see deriveClusterSecrets) over a fresh nonce, the
 *   time and every field; a proof that does not match, a time more than MAX_SKEW_MS off, or a nonce seen
 *   before (a replay) gets 401, and nothing of the cluster;
 * - the answer is sealed with the token (bootstrap.ts's scheme: scrypt + AES-256-GCM, its own purpose)
 *   and names the request's nonce: a man in the middle reads nothing, and cannot answer in the server's
 *   place or replay an older answer.
 */
export const JOIN_PATH = '/berth/v1/nats-join';

/** A join request is a few hundred bytes. */
export const MAX_JOIN_BODY_BYTES = 4096;
/** A member's answer lists at most MAX_MEMBERS addresses, sealed: a few KiB. */
const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_SKEW_MS = 5 * 60_000;
const NONCE = /^[0-9a-f]{32}$/;
const PROOF = /^[0-9a-f]{64}$/;
const ANSWER_PURPOSE = 'berth-nats-join';
export const JOIN_REFUSED = "the token does not match the cluster's";

export interface JoinRequest {
  /** The joining server's NATS server name, cluster and client addresses. */
  serverName: string;
  clusterAddress: string;
  clientAddress: string;
}

interface SignedJoinRequest extends JoinRequest {
  time: number;
  nonce: string;
  proof: string;
}

function proofOf(joinKey: Buffer, request: Omit<SignedJoinRequest, 'proof'>): string {
  const text = ['berth-nats-join-v1', request.time, request.nonce, request.serverName, request.clusterAddress, request.clientAddress].join('\n');
  return createHmac('sha256', joinKey).update(text).digest('hex');
}

export function signJoinRequest(joinKey: Buffer, request: JoinRequest, now = Date.now()): SignedJoinRequest {
  const unsigned = { ...request, time: now, nonce: randomBytes(16).toString('hex') };
  return { ...unsigned, proof: proofOf(joinKey, unsigned) };
}

/** The request's fields, checked one by one (nothing else of the body is read); BadRequest names what is wrong. */
function parseJoinRequest(body: string): SignedJoinRequest {
  const fields = parseJsonObject(body, 'a join request');
  if (typeof fields.time !== 'number' || !Number.isSafeInteger(fields.time)) throw errors.badRequest('time must be milliseconds since the epoch');
  if (typeof fields.nonce !== 'string' || !NONCE.test(fields.nonce)) throw errors.badRequest('nonce must be 32 lowercase hex digits');
  if (typeof fields.proof !== 'string' || !PROOF.test(fields.proof)) throw errors.badRequest('proof must be 64 lowercase hex digits');
  return {
    time: fields.time,
    nonce: fields.nonce,
    proof: fields.proof,
    serverName: checkServerName(fields.serverName),
    clusterAddress: checkHostPort(fields.clusterAddress, 'clusterAddress'),
    clientAddress: checkHostPort(fields.clientAddress, 'clientAddress'),
  };
}

export interface JoinEndpointOptions {
  token: string;
  secrets: Pick<ClusterSecrets, 'joinKey'>;
  /** The members to answer with (read at each request: it grows). */
  membership(): Membership;
  /** A server proved the token: remember it, so this member's restarts route to it too. */
  onJoined(request: JoinRequest): void;
  now?: () => number;
}

/** Answers join requests (see JOIN_PATH); `handle` returns false for any other path. */
export class JoinEndpoint {
  /** Nonces of accepted requests within the skew window: only proven requests enter, so nobody else can fill it. */
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: JoinEndpointOptions) {
    this.now = options.now ?? Date.now;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if ((req.url ?? '').split('?')[0] !== JOIN_PATH) return false;
    this.answer(req).then(
      (sealed) => respond(res, 200, { sealed }),
      (err: unknown) => respond(res, statusFor(err).code, statusFor(err)),
    );
    return true;
  };

  /** The sealed answer to a raw request body (the part of handle that needs no sockets). */
  async answerBody(body: string): Promise<string> {
    const request = parseJoinRequest(body);
    const now = this.now();
    const { proof, ...unsigned } = request;
    const expected = Buffer.from(proofOf(this.options.secrets.joinKey, unsigned), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(proof, 'hex'))) throw errors.unauthorized(JOIN_REFUSED);
    if (Math.abs(now - request.time) > MAX_SKEW_MS) throw errors.unauthorized(`the join request is from ${new Date(request.time).toISOString()}: more than 5 minutes off this server's clock`);
    for (const [nonce, time] of this.seen) if (now - time > MAX_SKEW_MS) this.seen.delete(nonce);
    if (this.seen.has(request.nonce)) throw errors.unauthorized('this join request was answered before (a replay)');
    this.seen.set(request.nonce, now);
    const { serverName, clusterAddress, clientAddress } = request;
    this.options.onJoined({ serverName, clusterAddress, clientAddress });
    const { routes, clientAddresses } = this.options.membership();
    return sealWithToken(JSON.stringify({ nonce: request.nonce, routes, clientAddresses }), this.options.token, ANSWER_PURPOSE);
  }

  private async answer(req: IncomingMessage): Promise<string> {
    if (req.method !== 'POST') throw errors.methodNotAllowed(`${JOIN_PATH} takes POST`);
    return this.answerBody(await readBody(req, MAX_JOIN_BODY_BYTES));
  }
}

/** Reads a body of at most `limit` bytes; a longer one is RequestEntityTooLarge (and is not read further). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(errors.tooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        reject(errors.tooLarge(limit));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function respond(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  // A body not read to its end (too large) leaves the connection unusable: it is closed after the answer.
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
  res.end(text);
}

/** Opens a member's sealed answer to the request with `nonce`: the members' routes and client addresses. */
export async function openJoinAnswer(sealed: unknown, token: string, nonce: string): Promise<Pick<Membership, 'routes' | 'clientAddresses'>> {
  if (typeof sealed !== 'string') throw errors.badRequest('the join answer holds no sealed data');
  const plain = await openWithToken(sealed, token, ANSWER_PURPOSE, 'the join answer', `${JOIN_REFUSED} (the answer does not open with it)`);
  const parsed = parseJsonObject(plain, 'the join answer');
  if (parsed.nonce !== nonce) throw errors.unauthorized('the join answer is not for this request (a replay)');
  return parseMembershipLists(parsed, 'the join answer');
}

export interface JoinOptions {
  /** `https://HOST:PORT` of a member. */
  server: string;
  token: string;
  secrets: Pick<ClusterSecrets, 'joinKey'>;
  request: JoinRequest;
  timeoutMs?: number;
}

/**
 * Asks a member for the cluster's routes. A refusal of the token is Unauthorized; a member that cannot be
 * reached or answers otherwise is ServiceUnavailable (worth asking again: it may be restarting).
 */
export async function requestJoin(options: JoinOptions): Promise<Pick<Membership, 'routes' | 'clientAddresses'>> {
  const signed = signJoinRequest(options.secrets.joinKey, options.request);
  const body = JSON.stringify(signed);
  let url: URL;
  try {
    url = new URL(JOIN_PATH, options.server);
  } catch {
    throw errors.badRequest(`--join must be https://HOST:PORT, got ${options.server}`);
  }
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    // The member's certificate cannot be checked before joining (no CA yet): the proof and the sealed answer protect the exchange.
    const req = request(
      url,
      { method: 'POST', rejectUnauthorized: false, timeout: options.timeoutMs ?? 10_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) res.destroy(errors.unavailable(`${options.server} answered the join with more than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(errors.unavailable(`${options.server} did not answer the join within ${(options.timeoutMs ?? 10_000) / 1000} s`)));
    req.on('error', (err) => reject(isBerthError(err) ? err : errors.unavailable(`cannot reach ${options.server}: ${err.message}`)));
    req.end(body);
  });
  let answer: { sealed?: unknown; message?: unknown } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // Not JSON: described by its status below.
  }
  if (status === 401) throw errors.unauthorized(`${JOIN_REFUSED} at ${options.server}`);
  if (status !== 200) {
    const message = typeof answer.message === 'string' ? answer.message.slice(0, 300) : `HTTP ${status}`;
    if (status === 404) throw errors.badRequest(`${options.server} is not a berth server started with --cluster-init or --join (${message})`);
    throw errors.unavailable(`${options.server} refused the join: ${message}`);
  }
  return openJoinAnswer(answer.sealed, options.token, signed.nonce);
}
