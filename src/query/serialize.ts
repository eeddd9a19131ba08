/**
 * The syntax tree back to query text (liqe's `serialize`): operators in the user's spelling,
 * literals as written, single spaces. Parentheses the user wrote are Group nodes and come back;
 * a tree built by code gets the parentheses its shape needs, so parse(serialize(t)) has t's shape.
 */
import type { Expr } from './ast.js';
import { pathText } from './ast.js';

const PRIMARY = 7;

function precedence(e: Expr): number {
  switch (e.type) {
    case 'Logical':
      return e.op === 'or' ? 1 : 2;
    case 'Not':
      return 3;
    case 'Compare':
    case 'In':
      return 4;
    case 'Match':
      return e.style === 'infix' ? 4 : PRIMARY;
    case 'Exists':
      return e.style === 'postfix' ? 4 : PRIMARY;
    case 'Arith':
      return 5;
    case 'Negate':
      return 6;
    default:
      return PRIMARY;
  }
}

function at(e: Expr, min: number): string {
  const s = text(e);
  return precedence(e) < min ? `(${s})` : s;
}

function text(e: Expr): string {
  switch (e.type) {
    case 'MatchAll':
      return '';
    case 'Logical': {
      const p = precedence(e);
      return `${at(e.left, p)} ${e.token} ${at(e.right, p + 1)}`;
    }
    case 'Not':
      return e.token === '!' ? `!${at(e.operand, 3)}` : `not ${at(e.operand, 3)}`;
    case 'Group':
      return `(${text(e.expr)})`;
    case 'Compare':
      return `${at(e.left, 5)} ${e.op} ${at(e.right, 5)}`;
    case 'Match':
      return e.style === 'infix'
        ? `${at(e.subject, 5)} ${e.op} ${at(e.pattern, 5)}`
        : `${at(e.subject, PRIMARY)}.${e.op}(${text(e.pattern)})`;
    case 'Exists':
      return e.style === 'postfix' ? `${at(e.subject, 5)} exists` : `has(${text(e.subject)})`;
    case 'In':
      return `${at(e.element, 5)} in ${at(e.collection, 5)}`;
    case 'Path':
      return pathText(e);
    case 'Literal':
    case 'Regex':
      return e.raw;
    case 'List':
      return `[${e.items.map((i) => at(i, 5)).join(', ')}]`;
    case 'Call':
      return `${e.name}(${e.args.map(text).join(', ')})`;
    case 'Arith':
      return `${at(e.left, 5)} ${e.op} ${at(e.right, 6)}`;
    case 'Negate':
      return `-${at(e.operand, 6)}`;
  }
}

export function serializeExpr(e: Expr): string {
  return text(e);
}
