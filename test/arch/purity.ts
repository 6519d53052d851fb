/**
 * The purity check: code that must give the same result on every machine and
 * in every run (the core, and the simulation with everything it runs) may not
 * reach the outside world, a clock, the event loop or a source of randomness.
 *
 * Files are checked with the TypeScript type checker, so a name counts only
 * where it really means the global or the `node:crypto` function (a local
 * `performance`, a property `x.process` or a parameter named `console` do
 * not), and a function of `node:crypto` is found however it was reached
 * (named, namespace or default import, renamed, destructured). Type positions
 * and `import type` never count: they emit no code.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { type Offence, ROOT, isRelative, moduleRefs, repoPath } from './imports.js';

/** The only modules, besides relative ones, that pure code may load. */
export const PURE_MODULES: ReadonlySet<string> = new Set(['node:crypto', 'crypto']);

/** Globals that pure code may not use as values, and why. */
export const FORBIDDEN_GLOBALS: ReadonlyMap<string, string> = new Map([
  ['Date', 'the clock (Date as a type is fine)'],
  ['performance', 'a clock'],
  ['process', 'the process'],
  ['console', 'output'],
  ['globalThis', 'global state'],
  ['global', 'global state'],
  ['setTimeout', 'a real timer'],
  ['setInterval', 'a real timer'],
  ['setImmediate', 'the real event loop'],
  ['clearTimeout', 'a real timer'],
  ['clearInterval', 'a real timer'],
  ['clearImmediate', 'the real event loop'],
  ['queueMicrotask', 'the real event loop'],
  ['fetch', 'the network'],
  ['crypto', 'Web Crypto, whose random functions draw randomness'],
  ['WeakRef', 'garbage collection timing'],
  ['FinalizationRegistry', 'garbage collection timing'],
  ['eval', 'code the check cannot see'],
  ['Function', 'code the check cannot see'],
]);

/** Exports of `node:crypto` that draw randomness. */
export const CRYPTO_RANDOM: ReadonlySet<string> = new Set([
  'randomBytes', 'pseudoRandomBytes', 'randomUUID', 'randomInt', 'randomFill', 'randomFillSync', 'getRandomValues',
  'generateKeyPair', 'generateKeyPairSync', 'generateKey', 'generateKeySync', 'generatePrime', 'generatePrimeSync',
  'createDiffieHellman', 'createDiffieHellmanGroup', 'getDiffieHellman', 'createECDH', 'webcrypto', 'subtle',
]);

const NODE_CRYPTO_TYPES = /[\\/]node_modules[\\/]@types[\\/]node[\\/](.*[\\/])?crypto\.d\.ts$/;

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (config.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT, undefined, configPath);
  return { ...parsed.options, noEmit: true, moduleDetection: ts.ModuleDetectionKind.Force };
}

/** Library and @types files, parsed once for every program this process builds. */
const libraryFiles = new Map<string, ts.SourceFile | undefined>();

function createHost(options: ts.CompilerOptions, virtual: ReadonlyMap<string, string>): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.fileExists = (f) => virtual.has(f) || fileExists(f);
  host.readFile = (f) => virtual.get(f) ?? readFile(f);
  host.getSourceFile = (f, languageVersion, onError, shouldCreate) => {
    const text = virtual.get(f);
    if (text !== undefined) return ts.createSourceFile(f, text, languageVersion, true, ts.ScriptKind.TS);
    if (!/[\\/]node_modules[\\/]/.test(f)) return getSourceFile(f, languageVersion, onError, shouldCreate);
    if (!libraryFiles.has(f)) libraryFiles.set(f, getSourceFile(f, languageVersion, onError, shouldCreate));
    return libraryFiles.get(f);
  };
  return host;
}

/**
 * The purity offences of the given files (absolute paths). `virtual` supplies
 * the text of files that are not on disk (the checker's own probes).
 */
export function purityOffences(files: readonly string[], virtual: ReadonlyMap<string, string> = new Map()): Offence[] {
  const options = compilerOptions();
  const program = ts.createProgram({ rootNames: [...files], options, host: createHost(options, virtual) });
  const checker = program.getTypeChecker();
  const out: Offence[] = [];
  for (const file of files) {
    const sf = program.getSourceFile(file);
    if (sf === undefined) throw new Error(`${file}: not found`);
    out.push(...fileOffences(program, checker, sf));
  }
  return out;
}

/** Purity offences of files on disk. */
export const purityOffencesOnDisk = (files: readonly string[]): Offence[] =>
  purityOffences(files, new Map(files.map((f) => [f, readFileSync(f, 'utf8')])));

function fileOffences(program: ts.Program, checker: ts.TypeChecker, sf: ts.SourceFile): Offence[] {
  const file = repoPath(sf.fileName);
  const found = new Map<string, Offence>();
  const add = (node: ts.Node, what: string): void => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    found.set(`${line}\0${what}`, { file, line, what });
  };

  for (const ref of moduleRefs(sf)) {
    if (ref.typeOnly || ref.runtimeUrl) continue;
    if (ref.spec === null) found.set(`${ref.line}\0computed`, { file, line: ref.line, what: 'imports a module whose name is computed' });
    else if (!isRelative(ref.spec) && !PURE_MODULES.has(ref.spec)) {
      found.set(`${ref.line}\0${ref.spec}`, { file, line: ref.line, what: `imports "${ref.spec}" (pure code may import only node:crypto and relative modules; import type is fine)` });
    }
  }

  /** A symbol is the project's own when one of its declarations is real code of a project file (not a library, not `declare`). */
  const declaredInProject = (sym: ts.Symbol | undefined): boolean =>
    sym?.declarations?.some((d) => {
      const dsf = d.getSourceFile();
      return !dsf.isDeclarationFile && (ts.getCombinedModifierFlags(d as ts.Declaration) & ts.ModifierFlags.Ambient) === 0 && !program.isSourceFileDefaultLibrary(dsf) && !program.isSourceFileFromExternalLibrary(dsf);
    }) === true;

  const resolveAlias = (sym: ts.Symbol | undefined): ts.Symbol | undefined =>
    sym !== undefined && (sym.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(sym) : sym;

  /** What is wrong with using this (alias-resolved) symbol, whatever the name it was reached by. */
  const forbiddenTarget = (sym: ts.Symbol | undefined): string | undefined => {
    if (sym === undefined) return undefined;
    const decls = sym.declarations ?? [];
    const name = sym.getName();
    if (CRYPTO_RANDOM.has(name) && decls.some((d) => NODE_CRYPTO_TYPES.test(d.getSourceFile().fileName))) {
      return `uses ${name} of node:crypto (randomness)`;
    }
    if (name === 'random' && decls.some((d) => program.isSourceFileDefaultLibrary(d.getSourceFile()) && ts.isInterfaceDeclaration(d.parent) && d.parent.name.text === 'Math')) {
      return 'uses Math.random (randomness)';
    }
    return undefined;
  };

  const checkMember = (node: ts.Node, sym: ts.Symbol | undefined): void => {
    const why = forbiddenTarget(resolveAlias(sym));
    if (why !== undefined) add(node, why);
  };
  /**
   * Finding the property that `a.b` reads needs the type of `a`, which costs a
   * type check; only the names that can be forbidden are worth it.
   */
  const mayBeForbiddenMember = (name: string): boolean => CRYPTO_RANDOM.has(name) || name === 'random';

  /** An identifier that reads a variable: a global is forbidden by name unless the project declares it. */
  const checkReference = (id: ts.Identifier, sym: ts.Symbol | undefined): void => {
    const target = resolveAlias(sym);
    const why = FORBIDDEN_GLOBALS.get(id.text);
    if (why !== undefined && !declaredInProject(target)) add(id, `uses ${id.text} (${why})`);
    checkMember(id, target);
  };

  const isDeclarationName = (id: ts.Identifier): boolean => {
    const p = id.parent as ts.Node & { name?: ts.Node };
    if (p.name !== id) return false;
    return (
      ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) ||
      ts.isClassDeclaration(p) || ts.isClassExpression(p) || ts.isMethodDeclaration(p) || ts.isPropertyDeclaration(p) ||
      ts.isGetAccessorDeclaration(p) || ts.isSetAccessorDeclaration(p) || ts.isPropertyAssignment(p) ||
      ts.isEnumDeclaration(p) || ts.isEnumMember(p) || ts.isModuleDeclaration(p) || ts.isImportClause(p) ||
      ts.isNamespaceImport(p) || ts.isImportEqualsDeclaration(p) || ts.isNamespaceExport(p) || ts.isTypeParameterDeclaration(p)
    );
  };

  const checkIdentifier = (id: ts.Identifier): void => {
    const p = id.parent;
    if ((ts.isPropertyAccessExpression(p) || ts.isPropertyAccessChain(p)) && p.name === id) {
      if (mayBeForbiddenMember(id.text)) checkMember(id, checker.getSymbolAtLocation(id));
    } else if (ts.isBindingElement(p)) {
      // `const { randomBytes } = c`, `const { random: r } = Math`: the property that is read.
      if ((p.propertyName ?? p.name) === id && ts.isObjectBindingPattern(p.parent) && mayBeForbiddenMember(id.text)) {
        checkMember(id, checker.getTypeAtLocation(p.parent).getProperty(id.text));
      }
    } else if (ts.isShorthandPropertyAssignment(p) && p.name === id) {
      checkReference(id, checker.getShorthandAssignmentValueSymbol(p));
    } else if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) {
      if (p.name === id && !p.isTypeOnly) checkMember(id, checker.getSymbolAtLocation(id));
    } else if (
      isDeclarationName(id) ||
      ts.isQualifiedName(p) ||
      ts.isMetaProperty(p) ||
      ((ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) && p.label === id)
    ) {
      // a name being declared, or not a variable at all
    } else {
      checkReference(id, checker.getSymbolAtLocation(id));
    }
  };

  const hasDeclare = (node: ts.Node): boolean =>
    ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);

  const visit = (node: ts.Node): void => {
    // Nothing of these is emitted.
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || hasDeclare(node)) return;
    if (ts.isImportDeclaration(node) && node.importClause?.isTypeOnly === true) return;
    if (ts.isExportDeclaration(node) && node.isTypeOnly) return;
    if (ts.isImportEqualsDeclaration(node) && node.isTypeOnly) return;
    if (ts.isHeritageClause(node) && node.token === ts.SyntaxKind.ImplementsKeyword) return;
    if (ts.isExpressionWithTypeArguments(node)) {
      // `class A extends B<T>` and `f<T>`: the expression runs, its type arguments do not.
      visit(node.expression);
      return;
    }
    if (ts.isTypeNode(node)) return;

    if (ts.isIdentifier(node)) checkIdentifier(node);
    else if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && mayBeForbiddenMember(node.argumentExpression.text)) {
      checkMember(node.argumentExpression, checker.getSymbolAtLocation(node.argumentExpression));
    } else if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      add(node, 'uses import.meta (where the file lies differs between machines)');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return [...found.values()].sort((a, b) => a.line - b.line || a.what.localeCompare(b.what));
}
