// Where the members of one interface are read, found by TypeScript's own Find All References (the
// native compiler's API), not by text: a reference counts when it reads the member (`x.member`,
// `x['member']`, `const { member } = x`), not when an object literal sets it or an assignment writes
// it, so a field that is declared and filled in but never consulted shows up as unread.
import {
  type BinaryExpression,
  type Node,
  type PropertySignatureDeclaration,
  SyntaxKind,
} from 'typescript/unstable/ast';
import type { FileSystem } from 'typescript/unstable/fs';
import { API } from 'typescript/unstable/sync';

export interface MemberReadsQuery {
  /** The project's tsconfig.json (absolute). */
  readonly tsconfig: string;
  /** The file that declares the interface (absolute). */
  readonly file: string;
  readonly interfaceName: string;
  /** Only reads in files under this directory count (absolute, no trailing slash). */
  readonly readersUnder: string;
  /** A virtual file system for the compiler (files it does not hold come from the disk). */
  readonly fs?: FileSystem;
}

/** True when `node`, a reference to a member, reads its value. */
function isRead(node: Node): boolean {
  const parent = node.parent;
  if (!parent) return false;
  switch (parent.kind) {
    case SyntaxKind.PropertyAccessExpression:
    case SyntaxKind.ElementAccessExpression:
      return !isAssignmentTarget(parent);
    case SyntaxKind.BindingElement:
      return true;
    default:
      return false;
  }
}

function isAssignmentTarget(access: Node): boolean {
  const up = access.parent;
  if (!up || up.kind !== SyntaxKind.BinaryExpression) return false;
  const bin = up as BinaryExpression;
  return bin.left === access && bin.operatorToken.kind === SyntaxKind.EqualsToken;
}

/**
 * Each member of the interface with the places (`path:offset`, path relative to `readersUnder`)
 * that read it. A member no code reads maps to an empty list.
 */
export function memberReads(q: MemberReadsQuery): Map<string, string[]> {
  const api = new API({ cwd: q.readersUnder, ...(q.fs ? { fs: q.fs } : {}) });
  try {
    const snapshot = api.updateSnapshot({ openProjects: [q.tsconfig] });
    const project = snapshot.getProject(q.tsconfig);
    if (!project) throw new Error(`the compiler did not load ${q.tsconfig}`);
    const source = project.program.getSourceFile(q.file);
    if (!source) throw new Error(`${q.file} is not part of ${q.tsconfig}`);
    const at = new RegExp(`\\binterface\\s+(${q.interfaceName})\\b`).exec(source.text);
    if (!at) throw new Error(`no interface ${q.interfaceName} in ${q.file}`);
    const iface = project.checker.getSymbolAtPosition(
      q.file,
      at.index + at[0].length - q.interfaceName.length,
    );
    if (!iface || iface.name !== q.interfaceName)
      throw new Error(`no symbol for interface ${q.interfaceName}`);
    const out = new Map<string, string[]>();
    for (const member of iface.getMembers().values()) {
      const name = (member.declarations[0]?.resolve() as PropertySignatureDeclaration | undefined)?.name;
      if (!name) throw new Error(`no declaration for ${q.interfaceName}.${member.name}`);
      // Find All References, project-wide: shorthand destructuring and `x['member']` included.
      const reads: string[] = [];
      for (const entry of project.checker.getReferencedSymbolsForNode(name, name.end - 1)) {
        for (const handle of entry.references) {
          if (!handle.path.startsWith(`${q.readersUnder}/`)) continue;
          const node = handle.resolve();
          if (node && isRead(node)) reads.push(`${handle.path.slice(q.readersUnder.length + 1)}:${node.pos}`);
        }
      }
      out.set(member.name, reads);
    }
    return out;
  } finally {
    api.close();
  }
}
