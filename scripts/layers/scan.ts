import ts from "typescript";

/**
 * Reads the facts the layer rules need out of one source file: which modules it imports and which watched
 * names its code mentions. It uses TypeScript's parser (syntax only, no type checking), so comments, strings,
 * template literals and regular expressions are never mistaken for code, and a property or method that
 * merely shares a global's name (`clock.setTimeout(...)`) is not mistaken for the global.
 */

/** One module a file depends on. `specifier` is `undefined` for a dynamic import of a computed string. */
export interface ImportFact {
  readonly specifier: string | undefined;
  /** 1-based line of the specifier. */
  readonly line: number;
}

/** One mention in code of a watched name. */
export interface NameFact {
  /** The name as written in the rule table: `Date`, `Math.random`, `async`, `await`. */
  readonly name: string;
  /** 1-based line of the mention. */
  readonly line: number;
  /** True when this mention declares a local binding of that name rather than using one. */
  readonly declares: boolean;
}

/** One `/// <reference types="..." />` directive. */
export interface TypeReferenceFact {
  readonly types: string;
  readonly line: number;
}

/** Everything {@link scanSource} found in one file, each list in source order. */
export interface ScanResult {
  readonly imports: readonly ImportFact[];
  readonly names: readonly NameFact[];
  readonly typeReferences: readonly TypeReferenceFact[];
}

function scriptKind(fileName: string): ts.ScriptKind {
  return fileName.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
}

/** A string literal or a template without substitutions: the forms whose value is known without running. */
function literalText(node: ts.Node | undefined): string | undefined {
  if (node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) {
    return node.text;
  }
  return undefined;
}

/**
 * True when `node` names a member rather than referring to a binding in scope: `x.Date`, `A.Date` in a type,
 * `{ Date: 1 }`, a class or interface member called `setTimeout`, an enum member, a label, and the imported
 * or exported name on the far side of `as`.
 */
function isMemberName(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent)) {
    return (ts.isPropertyAccessExpression(parent) ? parent.name : parent.right) === node;
  }
  if (
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent) ||
    ts.isPropertySignature(parent) ||
    ts.isMethodDeclaration(parent) ||
    ts.isMethodSignature(parent) ||
    ts.isGetAccessorDeclaration(parent) ||
    ts.isSetAccessorDeclaration(parent) ||
    ts.isEnumMember(parent)
  ) {
    return parent.name === node;
  }
  if (ts.isBindingElement(parent) || ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent)) {
    // `{ Date: d }`, `import { Date as D }`, `export { x as Date }`: the outer name is not a local binding.
    return parent.propertyName === node || (ts.isExportSpecifier(parent) && parent.name === node);
  }
  if (ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) return true;
  return false;
}

/** True when `node` is the name introduced by a declaration (`const process = ...`, a parameter, an import). */
function isDeclaredName(node: ts.Identifier): boolean {
  const parent = node.parent;
  return (
    (ts.isVariableDeclaration(parent) ||
      ts.isParameter(parent) ||
      ts.isFunctionDeclaration(parent) ||
      ts.isFunctionExpression(parent) ||
      ts.isClassDeclaration(parent) ||
      ts.isClassExpression(parent) ||
      ts.isInterfaceDeclaration(parent) ||
      ts.isTypeAliasDeclaration(parent) ||
      ts.isEnumDeclaration(parent) ||
      ts.isModuleDeclaration(parent) ||
      ts.isTypeParameterDeclaration(parent) ||
      ts.isBindingElement(parent) ||
      ts.isImportClause(parent) ||
      ts.isImportSpecifier(parent) ||
      ts.isNamespaceImport(parent) ||
      ts.isImportEqualsDeclaration(parent)) &&
    parent.name === node
  );
}

/** `Math.random`, `Math?.random` and `Math["random"]` written as `Math.random`; otherwise `undefined`. */
function memberAccessName(node: ts.Node): string | undefined {
  if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && ts.isIdentifier(node.name)) {
    return `${node.expression.text}.${node.name.text}`;
  }
  if (ts.isElementAccessExpression(node) && ts.isIdentifier(node.expression)) {
    const member = literalText(node.argumentExpression);
    if (member !== undefined) return `${node.expression.text}.${member}`;
  }
  return undefined;
}

/** `const { random } = Math` written as `Math.random`; otherwise `undefined`. */
function destructuredMemberName(node: ts.BindingElement): string | undefined {
  const pattern = node.parent;
  const declaration = pattern.parent;
  if (!ts.isObjectBindingPattern(pattern) || !ts.isVariableDeclaration(declaration)) return undefined;
  const source = declaration.initializer;
  if (source === undefined || !ts.isIdentifier(source)) return undefined;
  const key = node.propertyName ?? node.name;
  const member = ts.isIdentifier(key) ? key.text : literalText(key);
  return member === undefined ? undefined : `${source.text}.${member}`;
}

/**
 * Parses `text` as the TypeScript file `fileName` and lists its imports (static, `export ... from`, dynamic
 * `import()`, `require()`, `import x = require()`, `typeof import()` types) and its mentions of `watched`
 * names. Syntax errors do not stop the scan: the parser recovers, and a half-edited file is still checked.
 */
export function scanSource(fileName: string, text: string, watched: ReadonlySet<string>): ScanResult {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, scriptKind(fileName));
  const lineOf = (position: number): number => file.getLineAndCharacterOfPosition(position).line + 1;
  const imports: ImportFact[] = [];
  const names: NameFact[] = [];

  const addImport = (node: ts.Node | undefined, fallback: ts.Node): void => {
    imports.push({ specifier: literalText(node), line: lineOf((node ?? fallback).getStart(file)) });
  };
  const addName = (name: string, at: ts.Node, declares = false): void => {
    if (watched.has(name)) names.push({ name, line: lineOf(at.getStart(file)), declares });
  };

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier !== undefined) addImport(node.moduleSpecifier, node);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      addImport(node.moduleReference.expression, node);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      if (isDynamicImport || isRequire) addImport(node.arguments[0], node);
    } else if (ts.isImportTypeNode(node)) {
      const argument = node.argument;
      addImport(ts.isLiteralTypeNode(argument) ? argument.literal : undefined, node);
    }

    if (ts.isIdentifier(node)) {
      if (!isMemberName(node)) addName(node.text, node, isDeclaredName(node));
    } else if (node.kind === ts.SyntaxKind.AsyncKeyword) {
      addName("async", node);
    } else if (ts.isAwaitExpression(node) || node.kind === ts.SyntaxKind.AwaitKeyword) {
      // The keyword token appears on its own only in `for await`; an await expression is reported once.
      addName("await", node);
    } else if (
      ts.isVariableDeclarationList(node) &&
      (node.flags & ts.NodeFlags.AwaitUsing) === ts.NodeFlags.AwaitUsing
    ) {
      addName("await", node);
    } else if (ts.isBindingElement(node)) {
      const member = destructuredMemberName(node);
      if (member !== undefined) addName(member, node);
    } else {
      const member = memberAccessName(node);
      if (member !== undefined) addName(member, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);

  const typeReferences = file.typeReferenceDirectives.map((directive) => ({
    types: directive.fileName,
    line: lineOf(directive.pos),
  }));
  return { imports, names, typeReferences };
}
