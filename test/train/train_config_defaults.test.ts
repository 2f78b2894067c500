/**
 * The defaults of train.json live in one table, TRAIN_CONFIG_DEFAULTS: resolveTrainConfig fills
 * from it, and docs/training.md reads it (its generated table must match, and every default its
 * prose names for a field must be the table's).
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  TRAIN_CONFIG_DEFAULTS,
  TRAIN_CONFIG_DEFAULT_NOTES,
  TRAIN_CONFIG_FIELDS,
  type TrainConfigDefaultedField,
  type TrainConfigOptionalField,
  resolveTrainConfig,
} from '../../src/train/train_config';

const DOC = path.join(__dirname, '..', '..', 'docs', 'training.md');
const BEGIN = '<!-- train-config-defaults: generated from TRAIN_CONFIG_DEFAULTS and TRAIN_CONFIG_DEFAULT_NOTES; test/train/train_config_defaults.test.ts checks it -->';
const END = '<!-- /train-config-defaults -->';

const base = { train: { annotationFile: 'a.json', imagesDir: 'i' }, outputDir: 'o' };
const isDefaulted = (k: string): k is TrainConfigDefaultedField => Object.hasOwn(TRAIN_CONFIG_DEFAULTS, k);
const isNoted = (k: string): k is TrainConfigOptionalField => Object.hasOwn(TRAIN_CONFIG_DEFAULT_NOTES, k);

/** The markdown table docs/training.md holds between the markers. */
function defaultsTable(): string {
  const rows = TRAIN_CONFIG_FIELDS.filter((k) => k !== 'train' && k !== 'outputDir').map((k) => {
    const value = isDefaulted(k) ? `\`${JSON.stringify(TRAIN_CONFIG_DEFAULTS[k])}\`` : isNoted(k) ? TRAIN_CONFIG_DEFAULT_NOTES[k] : '(none)';
    return `| \`${k}\` | ${value} |`;
  });
  return ['| field | default |', '|---|---|', ...rows].join('\n');
}

describe('train.json defaults', () => {
  it('every optional field has a default value or a note, never both', () => {
    for (const k of TRAIN_CONFIG_FIELDS) {
      if (k === 'train' || k === 'outputDir') continue;
      expect([k, isDefaulted(k) !== isNoted(k)]).toEqual([k, true]);
    }
  });

  it('resolveTrainConfig fills exactly the table, and a field given as undefined takes its default', () => {
    const c = resolveTrainConfig(base);
    for (const [k, v] of Object.entries(TRAIN_CONFIG_DEFAULTS)) expect([k, c[k as TrainConfigDefaultedField]]).toEqual([k, v]);
    for (const k of Object.keys(TRAIN_CONFIG_DEFAULT_NOTES)) expect([k, c[k as TrainConfigOptionalField]]).toEqual([k, undefined]);
    expect(resolveTrainConfig({ ...base, keep: undefined }).keep).toBe(TRAIN_CONFIG_DEFAULTS.keep);
    expect(resolveTrainConfig({ ...base, keep: 7 }).keep).toBe(7);
    expect(resolveTrainConfig(c)).toEqual(c);
  });

  it("docs/training.md's table is the one the code holds", () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    expect([a >= 0, b > a]).toEqual([true, true]);
    // On failure, paste the expected table between the markers.
    expect(doc.slice(a + BEGIN.length, b).trim()).toBe(defaultsTable());
  });

  it('every default the prose of docs/training.md names for a field is the table\'s', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    const named: [string, string][] = [];
    for (const m of doc.matchAll(/`(\w+)`(?: \w+)? \(default ([^,;)]+)/g)) named.push([m[1], m[2]]);
    for (const m of doc.matchAll(/`(\w+)` \(([^,;)]+) by default\)/g)) named.push([m[1], m[2]]);
    const checked = named.filter(([k]) => isDefaulted(k));
    expect(checked.length).toBeGreaterThan(0);
    for (const [k, v] of checked) expect([k, v]).toEqual([k, JSON.stringify(TRAIN_CONFIG_DEFAULTS[k as TrainConfigDefaultedField])]);
  });
});
