/**
 * The profile's parts in this process: how a call frame is classified and mapped,
 * the summary and its text, and the server of the page. (test/docs/profile.test.ts
 * profiles a scaffolded pipeline end to end.)
 */
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { CorralError } from '../../src/core/errors.js';
import { classify, formatTopFunctions, mapSources, serveProfile, summarizeProfile, type CallFrame, type CpuProfile, type ProfileServer } from '../../src/qa/profile.js';
import { REPO_ROOT } from '../helpers/paths.js';

const frame = (functionName: string, url: string, lineNumber = 0): CallFrame => ({ functionName, scriptId: '1', url, lineNumber, columnNumber: 0 });
const PIPELINE = path.join(path.sep, 'work', 'sky', 'sky');

describe('classify', () => {
  test('when frames come from the pipeline, corral, a dependency, Node or nowhere then each gets its kind and a short location', () => {
    expect(classify(frame('process', pathToFileURL(path.join(PIPELINE, 'steps.ts')).href, 4), PIPELINE + path.sep)).toEqual({ kind: 'pipeline', location: 'sky/steps.ts:5' });
    expect(classify(frame('run', pathToFileURL(path.join(REPO_ROOT, 'src', 'run', 'loop.ts')).href, 9), PIPELINE)).toEqual({ kind: 'corral', location: 'corral/src/run/loop.ts:10' });
    expect(classify(frame('query', pathToFileURL(path.join(REPO_ROOT, 'node_modules', 'knex', 'lib', 'q.js')).href), PIPELINE)).toEqual({ kind: 'dependency', location: 'knex/lib/q.js:1' });
    expect(classify(frame('read', 'node:fs', -1), PIPELINE)).toEqual({ kind: 'node', location: 'node:fs' });
    expect(classify(frame('sqrt', ''), PIPELINE)).toEqual({ kind: 'node', location: '(native)' });
    expect(classify(frame('x', 'file://elsewhere/x.js'), PIPELINE)).toEqual({ kind: 'node', location: 'file://elsewhere/x.js:1' });
    expect(classify(frame('y', '/opt/y.js'), PIPELINE)).toEqual({ kind: 'node', location: '/opt/y.js:1' });
    expect(classify(frame('(idle)', ''), PIPELINE)).toEqual({ kind: 'system', location: '' });
  });
});

describe('mapSources', () => {
  test("when a frame is in corral's dist/ then it is mapped to src/ through the .map beside it, and a file without one is left as it is", () => {
    const dist = pathToFileURL(path.join(REPO_ROOT, 'dist', 'qa', 'profile.js')).href;
    const missing = pathToFileURL(path.join(REPO_ROOT, 'dist', 'no-such-module.js')).href;
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), hitCount: 0, children: [2, 3] },
        { id: 2, callFrame: { ...frame('serveProfile', dist, 10), columnNumber: 4 }, hitCount: 1 },
        { id: 3, callFrame: frame('other', missing, 3), hitCount: 1 },
      ],
      startTime: 0,
      endTime: 2,
      samples: [2, 3],
      timeDeltas: [1, 1],
    };
    mapSources(profile, {});
    expect(profile.nodes[1]!.callFrame.url).toBe(pathToFileURL(path.join(REPO_ROOT, 'src', 'qa', 'profile.ts')).href);
    expect(profile.nodes[2]!.callFrame).toEqual(frame('other', missing, 3));
  });
});

describe('summarizeProfile and formatTopFunctions', () => {
  test('when there are two roots and one sample then the tree gets a common root and the sample its mean time; no pipeline function is said so', () => {
    const longName = 'aFunctionWithANameMuchLongerThanFortyCharactersInAll';
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame(longName, 'node:a'), hitCount: 1 },
        { id: 2, callFrame: frame('b', 'node:b'), hitCount: 0 },
      ],
      startTime: 0,
      endTime: 1,
      samples: [1],
      timeDeltas: [5],
    };
    const summary = summarizeProfile(profile, PIPELINE);
    expect(summary.tree).toMatchObject({ name: '(root)', kind: 'system', totalMs: 0 });
    expect(summary.tree.children.map((c) => c.name)).toEqual([longName, 'b']);
    const text = formatTopFunctions(summary);
    expect(text).toContain(`${longName.slice(0, 39)}…`);
    expect(text).not.toContain(longName);
    expect(text).toContain("No function of the pipeline was sampled.");
  });
});

describe('serveProfile', () => {
  const servers: ProfileServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  function request(url: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .request(url, { method }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
        })
        .on('error', reject)
        .end();
    });
  }

  test('when the page is served then it answers the page, the profile as a download, no favicon, 404 and 405', async () => {
    const server = await serveProfile('<html>page</html>', '{"nodes":[]}', { host: '127.0.0.1', port: 0 });
    servers.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await request(server.url)).toMatchObject({ status: 200, body: '<html>page</html>' });
    expect(await request(`${server.url}profile.cpuprofile`)).toMatchObject({ status: 200, body: '{"nodes":[]}', headers: { 'content-disposition': 'attachment; filename="profile.cpuprofile"' } });
    expect(await request(`${server.url}favicon.ico`)).toMatchObject({ status: 204 });
    expect(await request(`${server.url}nope`)).toMatchObject({ status: 404, body: 'Not found\n' });
    expect(await request(server.url, 'POST')).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
  });

  test('when the port is taken then the error says so and how to choose another; on IPv6 the URL brackets the address', async () => {
    const server = await serveProfile('', '', { host: '127.0.0.1', port: 0 });
    servers.push(server);
    const port = Number(new URL(server.url).port);
    const taken = await serveProfile('', '', { host: '127.0.0.1', port }).catch((error: unknown) => error);
    expect(taken).toBeInstanceOf(CorralError);
    expect((taken as CorralError).message).toMatch(new RegExp(`^Cannot serve the profile on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    expect((taken as CorralError).hint).toBe('Choose another port with -p PORT (-p 0 picks a free one), or --no-serve');
    const unknownHost = await serveProfile('', '', { host: '192.0.2.1', port: 0 }).catch((error: unknown) => error);
    expect(unknownHost).toBeInstanceOf(CorralError);
    expect((unknownHost as CorralError).hint).toBeUndefined();
    const v6 = await serveProfile('v6', '', { host: '::1', port: 0 });
    servers.push(v6);
    expect(v6.url).toMatch(/^http:\/\/\[::1\]:\d+\/$/);
    expect(await request(v6.url)).toMatchObject({ status: 200, body: 'v6' });
  });
});
