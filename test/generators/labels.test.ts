import { describe, expect, test } from 'vitest';
import { scenarioLabels } from '../../src/generators/labels.js';
import { scenario, VOL } from '../helpers.js';

describe('scenario labels (psharness fuzz --stats)', () => {
  test('registry operations and handle opens are labelled by what they exercise', () => {
    const labels = scenarioLabels(scenario('win10-x64', [
      { op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` },
      { op: 'RegistryOp', process: 'System', operation: 'SetValue', key: 'service', name: 'Start', upperCase: true },
      { op: 'RegistryOp', process: 'P1', operation: 'DeleteKey', key: 'app' },
      { op: 'OpenHandle', requester: 'P1', target: 'P1', access: 0x1fffff },
      { op: 'OpenHandle', requester: 'System', target: 'T1', access: 0x1fffff, kernelHandle: true, duplicate: true },
    ]));
    expect(labels).toEqual(expect.arrayContaining([
      'registry: SetValue on the service key (kernel-mode caller)', 'registry: a path in capitals', 'registry: DeleteKey on the app key',
      'handle: a process opens itself', 'handle: a kernel handle', 'handle: a duplicate', 'handle: to a thread',
    ]));
    expect(labels).not.toContain('registry: DeleteKey on the app key (kernel-mode caller)');
  });

  test('a scenario without them has none of those labels', () => {
    const labels = scenarioLabels(scenario('win10-x64', [{ op: 'CreateProcess', id: 'P1', thread: 'T1', parent: 'System', path: `${VOL}\\a.exe` }]));
    expect(labels.filter((l) => l.startsWith('registry:') || l.startsWith('handle:'))).toEqual([]);
  });
});
