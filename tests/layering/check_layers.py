#!/usr/bin/python3
"""The layering test: every #include in protocol/, rules/ and proxy/ against the rooms table.

    check_layers.py ROOT [--table FILE]

ROOT is the repository; the table defaults to tests/layering/layers.txt beside this script. One
line per room, `ROOM: ROOMS IT MAY INCLUDE`. A room is a folder and owns the files directly in it;
`ROOM (GLOB ...): ...` gives its files explicitly instead (paths from ROOT, fnmatch patterns).

Fails (exit 1), naming file and line, on:
  - an include of a room the including room may not use,
  - an include of one of our headers that does not exist (quoted includes are ours; so are
    angle includes that start with one of the checked folders), that is not written as a path
    from the repository root, or that lies outside the checked folders (tests/, fuzz/, ...),
  - a source file in the checked folders that belongs to no room, or to more than one, and a
    room with no files (a folder renamed without the table),
  - a cycle between rooms, in the includes or in the table itself.
Prints `layering: ok (...)` and exits 0 otherwise. Python 3 standard library only.
"""

import argparse
import fnmatch
import os
import re
import sys

SOURCE_SUFFIXES = (".h", ".hh", ".hpp", ".cc", ".cpp", ".cxx", ".ipp", ".inc")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
ROOM_LINE = re.compile(r"^(?P<room>[^\s:(]+)\s*(?:\((?P<globs>[^)]*)\))?\s*:(?P<allowed>.*)$")


class Room:
    def __init__(self, name, globs, allowed, line):
        self.name = name
        self.globs = globs  # empty: the files directly in the folder `name`
        self.allowed = allowed
        self.line = line

    def owns(self, path):
        if self.globs:
            return any(fnmatch.fnmatchcase(path, g) for g in self.globs)
        return os.path.dirname(path) == self.name

    def top(self):
        """The checked top-level folder this room lives in."""
        first = self.globs[0] if self.globs else self.name
        return first.split("/", 1)[0]


def read_table(path, errors, shown):
    rooms = {}
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            text = raw.split("#", 1)[0].strip()
            if not text:
                continue
            m = ROOM_LINE.match(text)
            if not m:
                errors.append(f"{shown}:{number}: expected `ROOM: ROOMS IT MAY INCLUDE`")
                continue
            name = m.group("room").rstrip("/")
            if name in rooms:
                errors.append(f"{shown}:{number}: room {name} is listed twice")
                continue
            globs = (m.group("globs") or "").split()
            rooms[name] = Room(name, globs, set(m.group("allowed").split()) - {name}, number)
    for room in rooms.values():
        for other in sorted(room.allowed - rooms.keys()):
            errors.append(f"{shown}:{room.line}: {room.name} may use {other}, which is no room")
    return rooms


def strongly_connected(graph):
    """Tarjan's algorithm; returns the components with more than one node, each sorted."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


def cycle_in(component, graph):
    """One cycle through the component's first node, as a list of nodes (first repeated last)."""
    start = component[0]
    members = set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in members:
                continue
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    return component + [start]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the repository")
    parser.add_argument(
        "--table", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers.txt")
    )
    args = parser.parse_args()
    root = os.path.abspath(args.root)

    table = os.path.abspath(args.table)
    if table.startswith(root + os.sep):
        table = os.path.relpath(table, root)  # what the messages name
    errors = []
    rooms = read_table(args.table, errors, table)
    if errors:
        print("\n".join(errors))
        return 1

    allowed = {r.name: r.allowed for r in rooms.values()}
    for component in strongly_connected(allowed):
        cycle = " -> ".join(cycle_in(component, allowed))
        errors.append(f"{table}: the table itself has a cycle: {cycle}")

    tops = sorted({room.top() for room in rooms.values()})
    files = []
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(SOURCE_SUFFIXES):
                    files.append(os.path.relpath(os.path.join(dirpath, name), root))

    room_of = {}
    for path in files:
        owners = [r.name for r in rooms.values() if r.owns(path)]
        if len(owners) == 1:
            room_of[path] = owners[0]
        elif not owners:
            errors.append(f"{path}:1: belongs to no room; add its folder to {table}")
        else:
            errors.append(f"{path}:1: belongs to several rooms: {', '.join(owners)}")

    for room in rooms.values():
        if room.name not in room_of.values():
            errors.append(f"{table}:{room.line}: room {room.name} has no files")

    used = {}  # (from room, to room) -> the first include that makes the edge
    includes = 0
    for path in files:
        room = room_of.get(path)
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                quoted, header = m.group(1) == '"', m.group(2)
                if not quoted and header.split("/", 1)[0] not in tops:
                    continue  # the standard library, a third-party library
                includes += 1
                where = f"{path}:{number}"
                if not os.path.isfile(os.path.join(root, header)):
                    beside = os.path.join(os.path.dirname(path), header)
                    if quoted and os.path.isfile(os.path.join(root, beside)):
                        errors.append(
                            f'{where}: write the include as a path from the repository root: '
                            f'"{os.path.normpath(beside)}"'
                        )
                    else:
                        errors.append(f"{where}: includes {header}, which does not exist")
                    continue
                target = room_of.get(os.path.normpath(header))
                if target is None and header.split("/", 1)[0] not in tops:
                    errors.append(f"{where}: includes {header}, which is in no room")
                    continue
                if room is None or target is None or target == room:
                    continue
                used.setdefault((room, target), f"{where} includes {header}")
                if target not in rooms[room].allowed:
                    errors.append(f"{where}: {room} may not include {target} ({header})")

    graph = {}
    for (a, b) in used:
        graph.setdefault(a, set()).add(b)
    for component in strongly_connected(graph):
        cycle = cycle_in(component, graph)
        lines = [f"include cycle between rooms: {' -> '.join(cycle)}"]
        lines += [f"  {used[(a, b)]}" for a, b in zip(cycle, cycle[1:])]
        errors.append("\n".join(lines))

    if errors:
        print("\n".join(errors))
        print(f"layering: {len(errors)} problem(s); the allowed directions are in {table}")
        return 1
    print(f"layering: ok ({len(files)} files in {len(rooms)} rooms, {includes} includes of ours)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
