/**
 * Kubernetes' syntax rules for names, keys and addresses (apimachinery's util/validation), each returning
 * the same detail strings Kubernetes prints, empty when the value is fine.
 */
import * as net from 'node:net';
import { field } from '@berth/errors';
import type { Check, Problem } from './fields';
import { problem } from './fields';

function regexError(what: string, regex: string, examples: string[]): string {
  return `${what} (e.g. ${examples.map((e) => `'${e}'`).join(',  or ')}, regex used for validation is '${regex}')`;
}

function maxLength(n: number): string {
  return `must be no more than ${n} characters`;
}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const QUALIFIED_NAME_PART = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE = `(${QUALIFIED_NAME_PART})?`;
const CONFIG_KEY = '[-._a-zA-Z0-9]+';
const ENV_VAR_NAME = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const PERCENT = '[0-9]+%';

const full = (regex: string): RegExp => new RegExp(`^${regex}$`);

export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLength(63));
  if (!full(DNS1123_LABEL).test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL,
        ['my-name', '123-abc'],
      ),
    );
  }
  return errs;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLength(253));
  if (!full(DNS1123_SUBDOMAIN).test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN,
        ['example.com'],
      ),
    );
  }
  return errs;
}

/** Label and annotation keys: `[prefix/]name`, the prefix a DNS subdomain. */
export function qualifiedNameErrors(value: string): string[] {
  const qualifiedError = regexError(
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    QUALIFIED_NAME_PART,
    ['MyName', 'my.name', '123-abc'],
  );
  const parts = value.split('/');
  let name = value;
  const errs: string[] = [];
  if (parts.length === 2) {
    const [prefix] = parts;
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123SubdomainErrors(prefix).map((e) => `prefix part ${e}`));
  } else if (parts.length > 2) {
    return [
      regexError(
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME_PART,
        ['MyName', 'my.name', '123-abc'],
      ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLength(63)}`);
  if (name.length > 0 && !full(QUALIFIED_NAME_PART).test(name)) errs.push(qualifiedError);
  return errs;
}

export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLength(63));
  if (!full(LABEL_VALUE).test(value)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE,
        ['MyValue', 'my_value', '12345'],
      ),
    );
  }
  return errs;
}

export function configKeyErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLength(253));
  if (!full(CONFIG_KEY).test(value)) {
    errs.push(
      regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_KEY, [
        'key.name',
        'KEY_NAME',
        'key-name',
      ]),
    );
  }
  if (value === '.' || value === '..' || value.startsWith('..')) errs.push(`must not be '.' or '..' or start with '..'`);
  return errs;
}

export function envVarNameErrors(value: string): string[] {
  if (full(ENV_VAR_NAME).test(value)) return [];
  return [
    regexError(
      "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
      ENV_VAR_NAME,
      ['my.env-name', 'MY_ENV.NAME', 'MyEnvName1'],
    ),
  ];
}

/** IANA service names, what a named port may be called (`http`, `metrics-2`). */
export function portNameErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 15) errs.push(maxLength(15));
  if (!/^[-a-z0-9]+$/.test(value)) errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (value.includes('--')) errs.push("must not contain consecutive hyphens");
  if (/[a-z]/.test(value) === false) errs.push('must contain at least one letter (a-z)');
  if (value.startsWith('-') || value.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function percentErrors(value: string): string[] {
  if (full(PERCENT).test(value)) return [];
  return [regexError("a valid percent string must be a numeric string followed by an ending '%'", PERCENT, ['1%', '93%'])];
}

/** A path inside a volume (`subPath`, an item's `path`): relative, and never stepping up with `..`. */
export function localDescendingPathErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.startsWith('/')) errs.push('must be a relative path');
  if (value.split('/').includes('..')) errs.push("must not contain '..'");
  return errs;
}

/** A file a volume writes: also never `..`-prefixed, the names the node keeps for itself (`..data`). */
export function localNonReservedPathErrors(value: string): string[] {
  const errs = localDescendingPathErrors(value);
  if (value.startsWith('..') && !value.startsWith('../')) errs.push("must not start with '..'");
  return errs;
}

export function isIP(value: string): boolean {
  return net.isIP(value) !== 0;
}

export function isIPv4(value: string): boolean {
  return net.isIPv4(value);
}

export function ipErrors(value: string): string[] {
  return isIP(value) ? [] : ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'];
}

/** Status and legacy fields where an empty string means "no address yet". */
export function optionalIPErrors(value: string): string[] {
  return value === '' ? [] : ipErrors(value);
}

export function cidrErrors(value: string): string[] {
  const slash = value.indexOf('/');
  const prefix = Number(value.slice(slash + 1));
  const ip = value.slice(0, slash);
  const valid =
    slash > 0 && /^\d{1,3}$/.test(value.slice(slash + 1)) && isIP(ip) && prefix <= (isIPv4(ip) ? 32 : 128);
  return valid ? [] : ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
}

/** A check from a syntax rule: one `Invalid value` per detail, at the field (or at `subpath`). */
export function syntax(rule: (value: string) => string[], subpath?: string): Check<string> {
  return (value) => rule(value).map((detail) => problem(field.invalid('', value, detail), subpath));
}

/** Applies a syntax rule to every element of a string list, naming the element. */
export function eachItem(rule: (value: string) => string[]): Check<string[]> {
  return (list) => list.flatMap((item, i) => asInvalid(rule, item, `[${i}]`));
}

function asInvalid(rule: (value: string) => string[], value: string, subpath?: string): Problem[] {
  return rule(value).map((detail) => problem(field.invalid('', value, detail), subpath));
}

/** Applies a rule to each key of a map; Kubernetes reports key problems at the map itself. */
export function eachKey(rule: (key: string) => string[]): Check<Record<string, string>> {
  return (map) => Object.keys(map).flatMap((key) => asInvalid(rule, key));
}

export function eachValue(rule: (value: string) => string[]): Check<Record<string, string>> {
  return (map) => Object.values(map).flatMap((value) => asInvalid(rule, value));
}

/** Applies a rule to each key of a map, naming the entry (`data[my key]`), as config maps and secrets report. */
export function eachKeyNamed(rule: (key: string) => string[]): Check<Record<string, string>> {
  return (map) => Object.keys(map).flatMap((key) => asInvalid(rule, key, `[${key}]`));
}
