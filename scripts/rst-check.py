# SPDX-License-Identifier: MIT OR Apache-2.0
"""Parse kernel documentation files with docutils and report every problem (level >= warning).

The Sphinx directives and roles the kernel's documentation uses are stubbed: `kernel-doc` runs
scripts/kernel-doc -rst on its file (run from the kernel tree) and parses the result in place, the
C domain's directives parse their content, `toctree` checks that its entries exist, and the
cross-reference roles become literals. Prints nothing and exits 0 when every file is clean.

    python rst-check.py FILE.rst...
"""

import os
import subprocess
import sys

from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives, roles
from docutils.statemachine import StringList
from docutils.utils import SystemMessage


class KernelDoc(Directive):
    required_arguments = 1
    optional_arguments = 0
    has_content = False
    option_spec = {k: directives.unchanged for k in ("doc", "identifiers", "functions", "internal", "export", "no-identifiers")}

    def run(self):
        out = subprocess.run(["scripts/kernel-doc", "-rst", self.arguments[0]], capture_output=True, text=True)
        if out.returncode != 0 or out.stderr.strip():
            raise self.error(f"kernel-doc {self.arguments[0]}: {out.stderr.strip() or out.returncode}")
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(out.stdout.splitlines(), self.arguments[0]), 0, node)
        return node.children


class Contents(Directive):
    """A C-domain object: its content is parsed, its signature is not."""
    optional_arguments = 20
    final_argument_whitespace = True
    has_content = True
    option_spec = {"noindex": directives.flag, "no-index": directives.flag, "noindexentry": directives.flag}

    def run(self):
        node = nodes.container()
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


class TocTree(Directive):
    has_content = True
    option_spec = {"maxdepth": directives.nonnegative_int, "caption": directives.unchanged,
                   "numbered": directives.flag, "hidden": directives.flag, "glob": directives.flag}

    def run(self):
        base = os.path.dirname(self.state.document.current_source)
        for entry in self.content:
            entry = entry.strip()
            if entry and not os.path.exists(os.path.join(base, entry + ".rst")):
                raise self.error(f"toctree entry '{entry}' has no {entry}.rst")
        return []


def literal_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    return [nodes.literal(rawtext, text)], []


directives.register_directive("kernel-doc", KernelDoc)
directives.register_directive("toctree", TocTree)
for d in ("function", "macro", "struct", "union", "enum", "enumerator", "type", "member", "var"):
    directives.register_directive(f"c:{d}", Contents)
for r in ("c:func", "c:type", "c:macro", "c:struct", "c:union", "c:enum", "c:member", "c:var",
          "c:expr", "c:texpr", "ref", "doc", "manpage"):
    roles.register_local_role(r, literal_role)

bad = 0
for path in sys.argv[1:]:
    try:
        publish_doctree(open(path).read(), source_path=path,
                        settings_overrides={"report_level": 2, "halt_level": 2, "warning_stream": sys.stdout})
    except SystemMessage as e:
        print(f"{path}: {e}")
        bad = 1
    except Exception as e:  # a directive that failed outright
        print(f"{path}: {e}")
        bad = 1
sys.exit(bad)
