// Generates syntaxes/constellation.tmLanguage.json from readable building blocks, so each
// token rule of LANGUAGE.md §1 is written once. Run `node scripts/grammar.mjs` after editing;
// `node scripts/grammar.mjs --check` fails when the committed JSON is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "..", "syntaxes", "constellation.tmLanguage.json");

// The words come from the compiler's vocabulary (constellation/compiler/vocabulary.py), exported
// to scripts/vocabulary.json; tests/architecture/test_vocabulary.py keeps that file current.
const VOCABULARY = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "vocabulary.json"), "utf8"));
// §1.3: the 19 reserved words.
const RESERVED = VOCABULARY.reserved;
// A key or word that begins another is listed after it (`cache_backend` before `cache`).
const longestFirst = (words) => {
  const out = [];
  for (const w of words) {
    for (const longer of words) if (longer !== w && longer.startsWith(w) && !out.includes(longer)) out.push(longer);
    if (!out.includes(w)) out.push(w);
  }
  return out;
};
// §2.1 OPT_KEY plus `fallback` (lazy is handled on its own: it may stand bare).
const OPTION_KEYS = longestFirst(VOCABULARY.options.map((o) => o.key).filter((k) => k !== "lazy"));
const OPTION_WORDS = longestFirst(VOCABULARY.option_words);
const OPTION_FUNCTIONS = longestFirst(VOCABULARY.option_functions);
const BUILTIN_TYPES = VOCABULARY.builtin_types;

// A word ends where the identifier rule of §1.2 would stop: not before a name character, nor
// before a hyphen that continues the name (`not-x`, `in-progress` are identifiers).
const END = "(?![A-Za-z0-9_]|-[A-Za-z0-9_])";
const START = "(?<![A-Za-z0-9_])";
const word = (words) => `${START}(?:${words.join("|")})${END}`;
const NAME_BODY = "[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*";
const IDENT = `${START}(?!${word(RESERVED)})${NAME_BODY}`;
const FIELD = `${START}${NAME_BODY}`; // field names may be reserved words (§1.3)
const GAP = "(?:\\s|#.*$)*"; // whitespace and comments, within one line
const DECL_START =
  `${word(["type", "in", "out", "use"])}(?!\\s*[:,\\]}])|@|${IDENT}\\s*=(?![=>])`;
const DURATION_UNIT = `(?:${longestFirst(Object.keys(VOCABULARY.duration_units)).join("|")})`;

const grammar = {
  $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
  name: "Constellation",
  scopeName: "source.constellation",
  fileTypes: ["cst"],
  patterns: [
    { include: "#comment" },
    { include: "#annotation" },
    { include: "#type-declaration" },
    { include: "#input-declaration" },
    { include: "#output-declaration" },
    { include: "#use-declaration" },
    { include: "#assignment" },
    { include: "#expression" },
  ],
  repository: {
    comment: {
      match: "(#).*$",
      name: "comment.line.number-sign.constellation",
      captures: { 1: { name: "punctuation.definition.comment.constellation" } },
    },

    // ---- declarations (§2.1) ------------------------------------------------------------
    "type-declaration": {
      name: "meta.declaration.type.constellation",
      begin: `${START}(type)\\s+(${IDENT})\\s*(=)(?![=>])`,
      beginCaptures: {
        1: { name: "keyword.other.declaration.type.constellation" },
        2: { name: "entity.name.type.alias.constellation" },
        3: { name: "keyword.operator.assignment.constellation" },
      },
      end: `(?=[,)\\]}=]|${DECL_START})`,
      patterns: [{ include: "#type-expression" }],
    },
    "input-declaration": {
      name: "meta.declaration.input.constellation",
      begin: `${START}(in)\\s+(${IDENT})\\s*(:)`,
      beginCaptures: {
        1: { name: "keyword.other.declaration.input.constellation" },
        2: { name: "variable.parameter.input.constellation" },
        3: { name: "punctuation.separator.type-annotation.constellation" },
      },
      end: `(?=[,)\\]}=]|${DECL_START})`,
      patterns: [{ include: "#type-expression" }],
    },
    "output-declaration": {
      match: `${START}(out)\\s+(${IDENT})`,
      name: "meta.declaration.output.constellation",
      captures: {
        1: { name: "keyword.other.declaration.output.constellation" },
        2: { name: "variable.other.output.constellation" },
      },
    },
    "use-declaration": {
      match: `${START}(use)\\s+(${IDENT}(?:\\.${IDENT})*)(?:\\s+(as)\\s+(${IDENT}))?`,
      name: "meta.declaration.use.constellation",
      captures: {
        1: { name: "keyword.control.import.constellation" },
        2: { patterns: [{ include: "#namespace-path" }] },
        3: { name: "keyword.control.import.as.constellation" },
        4: { name: "entity.name.namespace.alias.constellation" },
      },
    },
    "namespace-path": {
      patterns: [
        { match: "\\.", name: "punctuation.accessor.constellation" },
        { match: NAME_BODY, name: "entity.name.namespace.constellation" },
      ],
    },
    assignment: {
      match: `(${IDENT})\\s*(=)(?![=>])`,
      captures: {
        1: { name: "variable.other.definition.constellation" },
        2: { name: "keyword.operator.assignment.constellation" },
      },
    },

    // ---- annotations (§2.1, §2.3 rule 6) --------------------------------------------------
    annotation: {
      patterns: [
        {
          name: "meta.annotation.constellation",
          begin: `(@)(example|source|sink)${END}\\s*(\\()`,
          beginCaptures: {
            1: { name: "punctuation.definition.annotation.constellation" },
            2: { name: "entity.name.function.decorator.constellation" },
            3: { name: "punctuation.section.arguments.begin.constellation" },
          },
          end: "\\)",
          endCaptures: { 0: { name: "punctuation.section.arguments.end.constellation" } },
          patterns: [{ include: "#named-argument" }, { include: "#expression" }],
        },
        {
          match: `(@)(${NAME_BODY})`,
          captures: {
            1: { name: "punctuation.definition.annotation.constellation" },
            2: { name: "invalid.illegal.unknown-annotation.constellation" },
          },
        },
      ],
    },
    "named-argument": {
      match: `(${FIELD})\\s*(:)`,
      captures: {
        1: { name: "entity.other.attribute-name.constellation" },
        2: { name: "punctuation.separator.key-value.constellation" },
      },
    },

    // ---- types (§2.1 type_expr) --------------------------------------------------------------
    "type-expression": {
      patterns: [
        { include: "#comment" },
        { include: "#record-type" },
        {
          begin: `(${NAME_BODY})\\s*(<)`,
          beginCaptures: {
            1: { patterns: [{ include: "#type-name" }] },
            2: { name: "punctuation.definition.generic.begin.constellation" },
          },
          end: ">",
          endCaptures: { 0: { name: "punctuation.definition.generic.end.constellation" } },
          name: "meta.type.parameters.constellation",
          patterns: [
            { match: ",", name: "punctuation.separator.comma.constellation" },
            { include: "#type-expression" },
          ],
        },
        { include: "#type-name" },
        { match: "\\|", name: "keyword.operator.type.union.constellation" },
        { match: "\\+", name: "keyword.operator.type.merge.constellation" },
      ],
    },
    "type-name": {
      patterns: [
        { match: word(BUILTIN_TYPES), name: "support.type.builtin.constellation" },
        { match: word(RESERVED), name: "invalid.illegal.reserved-word.constellation" },
        { match: NAME_BODY, name: "entity.name.type.constellation" },
      ],
    },
    "record-type": {
      name: "meta.type.record.constellation",
      begin: "\\{",
      beginCaptures: { 0: { name: "punctuation.definition.record.begin.constellation" } },
      end: "\\}",
      endCaptures: { 0: { name: "punctuation.definition.record.end.constellation" } },
      patterns: [
        { include: "#comment" },
        {
          begin: `(${FIELD})\\s*(:)`,
          beginCaptures: {
            1: { name: "variable.other.property.constellation" },
            2: { name: "punctuation.separator.type-annotation.constellation" },
          },
          end: "(?=[,}])",
          patterns: [{ include: "#type-expression" }],
        },
        { match: ",", name: "punctuation.separator.comma.constellation" },
      ],
    },

    // ---- expressions (§2.1 expr) -------------------------------------------------------------
    expression: {
      patterns: [
        { include: "#comment" },
        { include: "#string" },
        { include: "#with-clause" },
        { include: "#match-expression" },
        { include: "#branch-expression" },
        { include: "#lambda" },
        { include: "#projection" },
        { include: "#number" },
        { include: "#keyword" },
        { include: "#call" },
        { include: "#field-access" },
        { include: "#variable" },
        { include: "#paren" },
        { include: "#list" },
        { include: "#record" },
        { include: "#operator" },
        { include: "#punctuation" },
        { include: "#illegal" },
      ],
    },
    keyword: {
      patterns: [
        { match: word(["true", "false"]), name: "constant.language.boolean.constellation" },
        { match: word(["if", "else"]), name: "keyword.control.conditional.constellation" },
        { match: word(["when"]), name: "keyword.control.guard.constellation" },
        { match: word(["and", "or", "not"]), name: "keyword.operator.logical.constellation" },
        { match: word(["otherwise"]), name: "keyword.control.otherwise.constellation" },
        { match: word(["is"]), name: "keyword.operator.is.constellation" },
        { match: word(["branch", "match"]), name: "keyword.control.conditional.constellation" },
        { match: word(["lazy"]), name: "entity.other.attribute-name.option.constellation" },
        { match: word(["type", "in", "out"]), name: "keyword.other.declaration.constellation" },
        { match: word(["use", "as"]), name: "keyword.control.import.constellation" },
      ],
    },
    number: {
      patterns: [
        // §1.7: a rate, one token (valid only as an option value; the checker says so elsewhere)
        {
          match: `${START}(\\d+)(/)(\\d+${DURATION_UNIT})${END}`,
          name: "constant.numeric.rate.constellation",
          captures: {
            1: { name: "constant.numeric.integer.constellation" },
            2: { name: "keyword.operator.rate.constellation" },
            3: { patterns: [{ include: "#duration" }] },
          },
        },
        // §1.4: a suffixed number outside a `with` clause is a syntax error
        {
          match: `${START}\\d+(?:\\.\\d+)?[A-Za-z_][A-Za-z0-9_]*`,
          name: "invalid.illegal.duration-outside-options.constellation",
        },
        { match: `${START}0\\d+(?:\\.\\d+)?(?![\\w.])`, name: "invalid.illegal.leading-zeros.constellation" },
        { match: `${START}(?:0|[1-9]\\d*)\\.\\d+(?![\\w.])`, name: "constant.numeric.float.constellation" },
        { match: `${START}(?:0|[1-9]\\d*)\\.(?!\\d)`, name: "invalid.illegal.float.constellation" },
        { match: `(?<![0-9.])\\.\\d+`, name: "invalid.illegal.float.constellation" },
        { match: `${START}(?:0|[1-9]\\d*)(?![\\w.])`, name: "constant.numeric.integer.constellation" },
      ],
    },
    duration: {
      match: `${START}(\\d+)(${DURATION_UNIT})${END}`,
      name: "constant.numeric.duration.constellation",
      captures: { 2: { name: "keyword.other.unit.constellation" } },
    },
    call: {
      // §2.3 rule 1: a path followed by `(` is a call; the path names the function.
      match: `((?:${IDENT}\\.)*)(${IDENT})(?=\\s*\\()`,
      captures: {
        1: { patterns: [{ include: "#namespace-path" }] },
        2: { name: "entity.name.function.constellation" },
      },
    },
    "field-access": {
      match: `(\\.)(${FIELD})`,
      captures: {
        1: { name: "punctuation.accessor.constellation" },
        2: { name: "variable.other.property.constellation" },
      },
    },
    variable: {
      patterns: [
        { match: `${START}_${END}`, name: "variable.language.wildcard.constellation" },
        { match: IDENT, name: "variable.other.readwrite.constellation" },
      ],
    },
    paren: {
      name: "meta.group.constellation",
      begin: "\\(",
      beginCaptures: { 0: { name: "punctuation.section.parens.begin.constellation" } },
      end: "\\)",
      endCaptures: { 0: { name: "punctuation.section.parens.end.constellation" } },
      patterns: [{ include: "#expression" }],
    },
    list: {
      name: "meta.list.constellation",
      begin: "\\[",
      beginCaptures: { 0: { name: "punctuation.section.list.begin.constellation" } },
      end: "\\]",
      endCaptures: { 0: { name: "punctuation.section.list.end.constellation" } },
      patterns: [{ include: "#expression" }],
    },
    record: {
      name: "meta.record.constellation",
      begin: "\\{",
      beginCaptures: { 0: { name: "punctuation.section.record.begin.constellation" } },
      end: "\\}",
      endCaptures: { 0: { name: "punctuation.section.record.end.constellation" } },
      patterns: [
        {
          match: `(${FIELD})\\s*(:)`,
          captures: {
            1: { name: "variable.other.property.constellation" },
            2: { name: "punctuation.separator.key-value.constellation" },
          },
        },
        { include: "#expression" },
      ],
    },
    // §2.3 rule 3: `[`/`{` directly after an operand selects fields.
    projection: {
      patterns: [
        {
          name: "meta.projection.constellation",
          begin: "(?<=[A-Za-z0-9_)\\]}\"])(\\[)",
          beginCaptures: { 1: { name: "punctuation.section.projection.begin.constellation" } },
          end: "\\]",
          endCaptures: { 0: { name: "punctuation.section.projection.end.constellation" } },
          patterns: [{ include: "#field-list" }],
        },
        {
          name: "meta.projection.constellation",
          begin: "(?<=[A-Za-z0-9_)\\]}\"])(\\{)",
          beginCaptures: { 1: { name: "punctuation.section.projection.begin.constellation" } },
          end: "\\}",
          endCaptures: { 0: { name: "punctuation.section.projection.end.constellation" } },
          patterns: [{ include: "#field-list" }],
        },
      ],
    },
    "field-list": {
      patterns: [
        { include: "#comment" },
        { match: ",", name: "punctuation.separator.comma.constellation" },
        { match: FIELD, name: "variable.other.property.constellation" },
        { include: "#illegal-in-list" },
      ],
    },
    "illegal-in-list": {
      match: "[^\\s,\\]}]+",
      name: "invalid.illegal.projection.constellation",
    },
    lambda: {
      // §2.3 rule 2: a `(` whose matching `)` is followed by `=>` opens a parameter list.
      begin: `\\((?=[^()]*\\)${GAP}=>)`,
      beginCaptures: { 0: { name: "punctuation.definition.parameters.begin.constellation" } },
      end: "\\)",
      endCaptures: { 0: { name: "punctuation.definition.parameters.end.constellation" } },
      name: "meta.parameters.lambda.constellation",
      patterns: [
        { include: "#comment" },
        {
          begin: ":",
          beginCaptures: { 0: { name: "punctuation.separator.type-annotation.constellation" } },
          end: "(?=[,)])",
          patterns: [{ include: "#type-expression" }],
        },
        { match: ",", name: "punctuation.separator.comma.constellation" },
        { match: word(RESERVED), name: "invalid.illegal.reserved-word.constellation" },
        { match: NAME_BODY, name: "variable.parameter.constellation" },
      ],
    },
    "branch-expression": {
      name: "meta.branch.constellation",
      begin: `${START}(branch)${END}\\s*(\\{)`,
      beginCaptures: {
        1: { name: "keyword.control.conditional.constellation" },
        2: { name: "punctuation.section.block.begin.constellation" },
      },
      end: "\\}",
      endCaptures: { 0: { name: "punctuation.section.block.end.constellation" } },
      patterns: [{ include: "#expression" }],
    },
    "match-expression": {
      // §2.3 rule 3: the subject is a name or an atom, then the case block.
      name: "meta.match.constellation",
      begin: `${START}(match)${END}`,
      beginCaptures: { 1: { name: "keyword.control.conditional.constellation" } },
      end: "(?<=\\})",
      patterns: [
        { include: "#comment" },
        {
          begin: "(?:(?<=[A-Za-z0-9_)\\]}\"\\s])|^)\\{", // also a `{` at the start of a line
          beginCaptures: { 0: { name: "punctuation.section.block.begin.constellation" } },
          end: "\\}",
          endCaptures: { 0: { name: "punctuation.section.block.end.constellation" } },
          patterns: [{ include: "#case-pattern" }, { include: "#expression" }],
        },
        { include: "#expression" },
      ],
    },
    "case-pattern": {
      patterns: [
        {
          // `{ field, … } ->` is a record pattern; a `{` elsewhere is a record literal.
          name: "meta.pattern.record.constellation",
          begin: `\\{(?=[\\sA-Za-z0-9_,-]*\\}${GAP}->)`,
          beginCaptures: { 0: { name: "punctuation.definition.pattern.begin.constellation" } },
          end: "\\}",
          endCaptures: { 0: { name: "punctuation.definition.pattern.end.constellation" } },
          patterns: [{ include: "#field-list" }],
        },
        {
          match: `${START}(is)\\s+(${NAME_BODY})`,
          captures: {
            1: { name: "keyword.operator.is.constellation" },
            2: { patterns: [{ include: "#type-name" }] },
          },
        },
      ],
    },

    // ---- `with` clauses (§6) --------------------------------------------------------------
    "with-clause": {
      name: "meta.with-clause.constellation",
      begin: `${START}(with)${END}`,
      beginCaptures: { 1: { name: "keyword.other.with.constellation" } },
      // §2.3 rule 4: a comma continues the clause only before `lazy` or `key:`.
      // A comma that ends its line may continue the clause on the next one (the usual
      // multi-line layout); a line that starts with another `name:` is a record field.
      end:
        `(?=[)\\]}]|,(?!${GAP}(?:${word(["lazy"])}|${word(OPTION_KEYS)}${GAP}:)|${GAP}$)|` +
        `${DECL_START}|^\\s*(?!${word(["lazy", ...OPTION_KEYS])})${FIELD}${GAP}:)`,
      patterns: [
        { include: "#comment" },
        { match: ",", name: "punctuation.separator.option.constellation" },
        {
          match: `(${word(OPTION_KEYS)})\\s*(:)`,
          captures: {
            1: { name: "entity.other.attribute-name.option.constellation" },
            2: { name: "punctuation.separator.key-value.constellation" },
          },
        },
        {
          match: `(${word(["lazy"])})(?:\\s*(:))?`,
          captures: {
            1: { name: "entity.other.attribute-name.option.constellation" },
            2: { name: "punctuation.separator.key-value.constellation" },
          },
        },
        {
          match: `(${IDENT})\\s*(:)`,
          captures: {
            1: { name: "invalid.illegal.unknown-option.constellation" },
            2: { name: "punctuation.separator.key-value.constellation" },
          },
        },
        { include: "#option-value" },
        { include: "#expression" },
      ],
    },
    "option-value": {
      patterns: [
        {
          match: `${START}(\\d+)(/)(\\d+(?:\\.\\d+)?[A-Za-z_][A-Za-z0-9_]*)`,
          name: "constant.numeric.rate.constellation",
          captures: {
            1: { name: "constant.numeric.integer.constellation" },
            2: { name: "keyword.operator.rate.constellation" },
            3: { patterns: [{ include: "#duration" }, { include: "#bad-duration" }] },
          },
        },
        { include: "#duration" },
        { include: "#bad-duration" },
        {
          name: "meta.option-function.constellation",
          begin: `(${word(OPTION_FUNCTIONS)})\\s*(\\()`,
          beginCaptures: {
            1: { name: "support.function.option.constellation" },
            2: { name: "punctuation.section.arguments.begin.constellation" },
          },
          end: "\\)",
          endCaptures: { 0: { name: "punctuation.section.arguments.end.constellation" } },
          patterns: [
            { match: ",", name: "punctuation.separator.comma.constellation" },
            { include: "#option-value" },
            { include: "#number" },
          ],
        },
        { match: word(OPTION_WORDS), name: "constant.language.option-value.constellation" },
      ],
    },
    "bad-duration": {
      // E016 material: fractional or unknown-unit suffixed numbers
      match: `${START}\\d+(?:\\.\\d+)?[A-Za-z_][A-Za-z0-9_]*`,
      name: "invalid.illegal.duration.constellation",
    },

    // ---- strings (§1.5) --------------------------------------------------------------------
    string: {
      name: "string.quoted.double.constellation",
      begin: '"',
      beginCaptures: { 0: { name: "punctuation.definition.string.begin.constellation" } },
      end: '"',
      endCaptures: { 0: { name: "punctuation.definition.string.end.constellation" } },
      patterns: [
        { match: '\\\\[ntr\\\\"$]', name: "constant.character.escape.constellation" },
        { match: "\\\\.?", name: "invalid.illegal.unknown-escape.constellation" },
        { include: "#interpolation" },
      ],
    },
    interpolation: {
      name: "meta.interpolation.constellation",
      begin: "\\$\\{",
      beginCaptures: { 0: { name: "punctuation.section.interpolation.begin.constellation" } },
      end: "\\}",
      endCaptures: { 0: { name: "punctuation.section.interpolation.end.constellation" } },
      contentName: "meta.embedded.line.constellation",
      patterns: [
        { match: "#", name: "invalid.illegal.comment-in-interpolation.constellation" },
        { include: "#expression" },
      ],
    },

    // ---- operators and the rest (§1.6) ------------------------------------------------------
    operator: {
      patterns: [
        { match: "\\?\\?", name: "keyword.operator.coalesce.constellation" },
        { match: "->", name: "keyword.operator.arrow.constellation" },
        { match: "=>", name: "storage.type.function.arrow.constellation" },
        { match: "==|!=|<=|>=|<|>", name: "keyword.operator.comparison.constellation" },
        { match: "[-+*/]", name: "keyword.operator.arithmetic.constellation" },
        { match: "=", name: "keyword.operator.assignment.constellation" },
        { match: "\\|", name: "keyword.operator.type.union.constellation" },
      ],
    },
    punctuation: {
      patterns: [
        { match: ",", name: "punctuation.separator.comma.constellation" },
        { match: ":", name: "punctuation.separator.colon.constellation" },
        { match: "\\.", name: "punctuation.accessor.constellation" },
      ],
    },
    illegal: {
      // §1.1: any other character outside strings and comments starts no token
      match: "[^\\s]",
      name: "invalid.illegal.character.constellation",
    },
  },
};

const text = JSON.stringify(grammar, null, 2) + "\n";
if (process.argv.includes("--check")) {
  const current = readFileSync(OUT, "utf8");
  if (current !== text) {
    console.error(`${OUT} is out of date: run node scripts/grammar.mjs`);
    process.exit(1);
  }
  console.log("grammar JSON is up to date");
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}`);
}
