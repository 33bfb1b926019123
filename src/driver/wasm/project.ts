/**
 * A driver is a project, not a file: what `--driver` names, resolved to the translation units, include directories
 * and definitions each target compiles. The forms:
 *
 * - one source file (`drv.c`, `drv.cpp`, `.cc`, `.cxx`);
 * - several, joined by commas (`entry.c,callbacks.c,ioctl.c`);
 * - a directory: its Visual Studio driver project when it holds one, else the sources directly in it;
 * - a Visual Studio project (`.vcxproj`): its `ClCompile` items, `AdditionalIncludeDirectories`,
 *   `PreprocessorDefinitions` and `LanguageStandard` for the chosen configuration (default `Debug`), per platform:
 *   `Win32` is built for the x86 builds, `x64` for the x64 ones; a platform the project lacks is not built.
 *
 * What MSBuild would also read and this does not: imported `.props`/`.targets` files and property functions. A path
 * or definition that names a macro this cannot know (`$(DDK_INC_PATH)`: the WDK's own directories, which the shim's
 * headers stand for) is left out. The XML is read with fast-xml-parser under bounds: size, depth and entities.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { directoryEntries, INPUT_LIMITS, readInputText } from '../input-files.js';

/** The target a C or C++ driver is compiled for: x86 (wasm32, ILP32) or x64 (wasm64 with the shim's LLP64 types). */
export type DriverTarget = 'x86' | 'x64';

/** The extensions of the translation units a project compiles (C, then C++ as MSVC names them). */
export const SOURCE_EXTENSIONS: readonly string[] = ['.c', '.cpp', '.cc', '.cxx'];

/** What one target compiles: every unit with the same include directories and definitions. */
export interface SourceBuild {
  /** Absolute paths of the translation units, in the project's order. */
  readonly units: readonly string[];
  /** Absolute include directories searched after the including file's own (MSVC's `/I`, in order). */
  readonly includeDirs: readonly string[];
  /** `NAME` or `NAME=VALUE`, as `/D` takes them. */
  readonly defines: readonly string[];
  /** The C++ standard (`c++17`) for C++ units; MSVC's default, C++14, when the project names none. */
  readonly cxxStandard?: string;
}

export interface DriverProject {
  /** The name reports use: the project's, or the first source's stem. */
  readonly name: string;
  /** Where the log spec (`<name>.psharness.json`) sits: the project's directory. */
  readonly dir: string;
  /** The source build for each target the project has (a `.vcxproj` without `Win32` has no x86). */
  readonly builds: Partial<Record<DriverTarget, SourceBuild>>;
  /** `Debug|x64, Debug|Win32`, for a Visual Studio project. */
  readonly configuration?: string;
}

export class DriverProjectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriverProjectError';
  }
}

/** The most translation units a project may have, and the most entries a directory listing reads. */
export const PROJECT_LIMITS = { units: 256, dirEntries: 4096, listItems: 256 } as const;

/** Whether `p` names a C or C++ translation unit by its extension. */
export const isSource = (p: string): boolean => SOURCE_EXTENSIONS.includes(extname(p).toLowerCase());

/** Whether `spec` is one source file (not several joined by commas): reports keep its bytes' sha256, messages its name. */
export const isSingleSource = (spec: string): boolean => !spec.includes(',') && isSource(spec);

/** A name that is a driver on disk by its extension alone: a source, a Visual Studio project or a module. */
export const DRIVER_FILE = /\.(c|cpp|cc|cxx|vcxproj|wasm)$/i;

/** Whether `spec` names a source project (rather than a built-in driver or a prebuilt `.wasm`). */
export function isSourceProject(spec: string): boolean {
  if (spec.includes(',')) return true;
  if (isSource(spec) || extname(spec).toLowerCase() === '.vcxproj') return true;
  try {
    return statSync(spec).isDirectory();
  } catch {
    return false;
  }
}

/** The names of a directory's files (and links), sorted: at most PROJECT_LIMITS.dirEntries entries are read. */
function entries(dir: string): string[] {
  return directoryEntries(dir, PROJECT_LIMITS.dirEntries).filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name).sort();
}

/** Resolves what `--driver` names to a project; `configuration` picks a Visual Studio project's (default `Debug`). */
export function resolveProject(spec: string, configuration?: string): DriverProject {
  if (spec.includes(',')) {
    const files = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (files.length > PROJECT_LIMITS.units) throw new DriverProjectError(`${files.length} source files: at most ${PROJECT_LIMITS.units}`);
    for (const f of files) {
      if (!isSource(f)) throw new DriverProjectError(`${f}: a driver's source must be ${SOURCE_EXTENSIONS.join(', ')} (several files are joined by commas)`);
      if (!existsSync(f)) throw new DriverProjectError(`no such source file: ${f}`);
    }
    const units = files.map((f) => resolve(f));
    return plainProject(basename(files[0], extname(files[0])), dirname(units[0]), units);
  }
  if (extname(spec).toLowerCase() === '.vcxproj') return readVcxproj(spec, configuration);
  let isDir = false;
  try {
    isDir = statSync(spec).isDirectory();
  } catch {
    // not there: the caller names what is missing
  }
  if (isDir) {
    const names = entries(spec);
    const projects = names.filter((n) => extname(n).toLowerCase() === '.vcxproj');
    if (projects.length > 0) {
      // each project parsed once; one that is not XML is not the driver's
      const parsed = projects.flatMap((p) => {
        try {
          return [{ name: p, project: parseXml(join(spec, p)) }];
        } catch {
          return [];
        }
      });
      const drivers = parsed.filter((p) => vcxprojKind(p.project) === 'Driver');
      if (drivers.length === 1) return readVcxproj(join(spec, drivers[0].name), configuration, drivers[0].project);
      if (drivers.length > 1) throw new DriverProjectError(`${spec} holds ${drivers.length} driver projects (${drivers.map((d) => d.name).join(', ')}): name one`);
    }
    const units = names.filter(isSource).map((n) => resolve(spec, n));
    if (units.length === 0) throw new DriverProjectError(`${spec} holds no driver sources (${SOURCE_EXTENSIONS.join(', ')}) and no driver .vcxproj`);
    if (units.length > PROJECT_LIMITS.units) throw new DriverProjectError(`${spec} holds ${units.length} source files: at most ${PROJECT_LIMITS.units}`);
    return plainProject(basename(resolve(spec)), resolve(spec), units);
  }
  return plainProject(basename(spec, extname(spec)), dirname(resolve(spec)), [resolve(spec)]);
}

function plainProject(name: string, dir: string, units: readonly string[]): DriverProject {
  const build: SourceBuild = { units, includeDirs: [], defines: [] };
  return { name, dir, builds: { x86: build, x64: build } };
}

// ---- Visual Studio projects

type Xml = Record<string, unknown>;

const ARRAYS = new Set(['ItemGroup', 'ItemDefinitionGroup', 'PropertyGroup', 'ProjectConfiguration', 'ClCompile', 'ExcludedFromBuild',
  'AdditionalIncludeDirectories', 'PreprocessorDefinitions', 'LanguageStandard', 'ConfigurationType', 'Configuration', 'Platform']);

function parseXml(path: string): Xml {
  const text = readInputText(path, 'Visual Studio project', INPUT_LIMITS.logSpec);
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new DriverProjectError(`${path}:${valid.err.line}:${valid.err.col}: not a Visual Studio project: ${valid.err.msg}`);
  const parser = new XMLParser({
    ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, trimValues: true,
    isArray: (name) => ARRAYS.has(name), maxNestedTags: 64,
    processEntities: { enabled: true, maxEntityCount: 64, maxEntitySize: 1024, maxExpansionDepth: 4, maxTotalExpansions: 1024, maxExpandedLength: 65536 },
  });
  let doc: Xml;
  try {
    doc = parser.parse(text) as Xml;
  } catch (e) {
    throw new DriverProjectError(`${path}: not a Visual Studio project: ${(e as Error).message.split('\n')[0]}`);
  }
  const project = doc.Project;
  if (typeof project !== 'object' || project === null) throw new DriverProjectError(`${path}: not a Visual Studio project (no <Project> element)`);
  return project as Xml;
}

const list = (x: unknown): Xml[] => (Array.isArray(x) ? x.filter((e): e is Xml => typeof e === 'object' && e !== null).slice(0, PROJECT_LIMITS.listItems) : []);
const text = (x: unknown): string | undefined => {
  const v = Array.isArray(x) ? x[x.length - 1] : x; // the last definition wins, as in MSBuild
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Xml)['#text'] === 'string') return (v as Xml)['#text'] as string;
  return undefined;
};

/** The `ConfigurationType` of a project (`Driver`, `Application`, …), or undefined when it names none. */
function vcxprojKind(project: Xml): string | undefined {
  for (const g of list(project.PropertyGroup)) {
    const t = text(g.ConfigurationType);
    if (t !== undefined) return t;
  }
  return undefined;
}

/**
 * An MSBuild condition of the forms projects use: `'$(Configuration)|$(Platform)'=='Debug|x64'`, `==`/`!=` between
 * quoted strings, joined by `and`/`or`. Any other form is false: nothing it guards is taken.
 */
export function conditionHolds(condition: string | undefined, vars: Readonly<Record<string, string>>): boolean {
  if (condition === undefined || condition.trim() === '') return true;
  const expand = (s: string): string => s.replace(/\$\(([A-Za-z_][\w.]*)\)/g, (_m, n: string) => vars[n] ?? '');
  const term = (t: string): boolean | undefined => {
    const m = /^\s*'([^']*)'\s*(==|!=)\s*'([^']*)'\s*$/.exec(t);
    if (m === null) return undefined;
    const eq = expand(m[1]).toLowerCase() === expand(m[3]).toLowerCase(); // MSBuild compares strings case-insensitively
    return m[2] === '==' ? eq : !eq;
  };
  const ors = condition.split(/\s+or\s+/i);
  let any = false;
  for (const o of ors) {
    let all = true;
    for (const a of o.split(/\s+and\s+/i)) {
      const v = term(a.replace(/^\s*\(|\)\s*$/g, ''));
      if (v === undefined) return false;
      all &&= v;
    }
    any ||= all;
  }
  return any;
}

const PLATFORMS: Readonly<Record<string, DriverTarget>> = { win32: 'x86', x86: 'x86', x64: 'x64' };

function readVcxproj(path: string, configuration = 'Debug', project: Xml = parseXml(path)): DriverProject {
  const dir = dirname(resolve(path));
  const name = basename(path, extname(path));
  const kind = vcxprojKind(project);
  if (kind !== undefined && kind !== 'Driver') throw new DriverProjectError(`${path} is a Visual Studio '${kind}' project, not a driver (ConfigurationType Driver)`);
  const configs = list(project.ItemGroup).flatMap((g) => list(g.ProjectConfiguration)).map((c) => String(c['@Include'] ?? ''));
  const chosen = configs.filter((c) => c.split('|')[0].toLowerCase() === configuration.toLowerCase());
  if (chosen.length === 0) {
    const known = [...new Set(configs.map((c) => c.split('|')[0]))];
    throw new DriverProjectError(`${path} has no configuration '${configuration}' (it has ${known.join(', ') || 'none'}; --configuration picks one)`);
  }
  const solutionDir = [dir, dirname(dir)].find((d) => { try { return entries(d).some((n) => n.toLowerCase().endsWith('.sln')); } catch { return false; } }) ?? dir;
  const builds: Partial<Record<DriverTarget, SourceBuild>> = {};
  const used: string[] = [];
  for (const c of chosen) {
    const [conf, platform = ''] = c.split('|');
    const target = PLATFORMS[platform.toLowerCase()];
    if (target === undefined || builds[target] !== undefined) continue; // ARM64 and the like: no build here
    const vars: Record<string, string> = {
      Configuration: conf, Platform: platform, ProjectDir: `${dir}/`, MSBuildProjectDirectory: dir, MSBuildThisFileDirectory: `${dir}/`,
      SolutionDir: `${solutionDir}/`, ProjectName: name, MSBuildProjectName: name,
    };
    builds[target] = vcxprojBuild(project, dir, vars);
    used.push(c);
  }
  if (used.length === 0) throw new DriverProjectError(`${path}: configuration '${configuration}' has no Win32 or x64 platform (it has ${chosen.join(', ')})`);
  for (const b of Object.values(builds)) if (b.units.length === 0) throw new DriverProjectError(`${path} compiles no C or C++ file in ${used.join(', ')}`);
  return { name, dir, builds, configuration: used.join(', ') };
}

/** A `;`-separated MSBuild list with its macros expanded; an entry naming a macro this cannot know is left out. */
function msbuildList(value: string | undefined, vars: Readonly<Record<string, string>>): string[] {
  if (value === undefined) return [];
  const out: string[] = [];
  for (const raw of value.split(';').slice(0, PROJECT_LIMITS.listItems)) {
    const v = raw.trim();
    if (v === '' || /%\(/.test(v)) continue; // %(X): the inherited value
    let unknown = false;
    const expanded = v.replace(/\$\(([A-Za-z_][\w.]*)\)/g, (_m, n: string) => {
      if (Object.hasOwn(vars, n)) return vars[n];
      unknown = true;
      return '';
    });
    if (!unknown) out.push(expanded);
  }
  return out;
}

const STANDARDS: Readonly<Record<string, string>> = { stdcpp14: 'c++14', stdcpp17: 'c++17', stdcpp20: 'c++20', stdcpplatest: 'c++2b' };

function vcxprojBuild(project: Xml, dir: string, vars: Readonly<Record<string, string>>): SourceBuild {
  const units: string[] = [];
  const includeDirs: string[] = [];
  const defines: string[] = [];
  let cxxStandard: string | undefined;
  for (const g of list(project.ItemDefinitionGroup)) {
    if (!conditionHolds(g['@Condition'] as string | undefined, vars)) continue;
    for (const cl of list(g.ClCompile)) {
      if (!conditionHolds(cl['@Condition'] as string | undefined, vars)) continue;
      for (const d of msbuildList(text(cl.AdditionalIncludeDirectories), vars)) {
        const p = d.replace(/\\/g, '/');
        includeDirs.push(isAbsolute(p) ? p : resolve(dir, p));
      }
      for (const d of msbuildList(text(cl.PreprocessorDefinitions), vars)) if (/^[A-Za-z_]\w*(=.*)?$/.test(d)) defines.push(d);
      const std = text(cl.LanguageStandard);
      if (std !== undefined && Object.hasOwn(STANDARDS, std.toLowerCase())) cxxStandard = STANDARDS[std.toLowerCase()];
    }
  }
  for (const g of list(project.ItemGroup)) {
    if (!conditionHolds(g['@Condition'] as string | undefined, vars)) continue;
    for (const cl of list(g.ClCompile)) {
      const include = cl['@Include'];
      if (typeof include !== 'string' || !conditionHolds(cl['@Condition'] as string | undefined, vars)) continue;
      const excluded = list(cl.ExcludedFromBuild).some((e) => conditionHolds(e['@Condition'] as string | undefined, vars) && /^true$/i.test(text(e) ?? ''));
      if (excluded) continue;
      for (const f of msbuildList(include, vars)) {
        const p = f.replace(/\\/g, '/');
        if (isSource(p) && units.length < PROJECT_LIMITS.units) units.push(isAbsolute(p) ? p : resolve(dir, p));
      }
    }
  }
  return { units, includeDirs: [...new Set(includeDirs)], defines, ...(cxxStandard !== undefined ? { cxxStandard } : {}) };
}
