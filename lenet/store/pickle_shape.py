"""The shape of a pickle, read without building a single object: how many steps, how deeply nested.

`torch.load(weights_only=True)` runs no code, but it does build whatever nesting a file spells out,
and Python recurses through nested objects (hashing a tuple used as a dict key, for one): a 627 KB
pickle of a 300,000-deep tuple crashes the whole process before any check sees the result. So a
checkpoint's pickle is walked opcode by opcode first (`pickletools.genops`, a loop, not recursion),
its objects kept as bare nodes with the edges "contains", and refused if it is deeper than any
checkpoint this app writes could be.
"""

import pickletools
from array import array

MAX_OPS = 250_000  # the largest checkpoint this app writes (20 runs, 1,000 epochs of 64-character configs): 121,585
MAX_DEPTH = 48  # a checkpoint of this app nests 8 deep; Python's recursion limit is 1,000
MAX_SPREAD = 1_000_000  # objects counted at every place they appear: the largest checkpoint of this app, under 100,000
# Opcodes that put what they take off the stack into an object that is already there, below it.
FILLS = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"}
MARK = -1


class PickleShapeError(ValueError):
    """The pickle is malformed, too long or too deeply nested; the message says which."""


def check_shape(data: bytes, max_ops: int = MAX_OPS, max_depth: int = MAX_DEPTH, max_spread: int = MAX_SPREAD) -> int:
    """The nesting depth of the object `data` unpickles to; `PickleShapeError` past the limits.

    Memo references are followed (an object filled after another took it in still counts), and an
    object that contains itself is refused: a LeNet checkpoint holds no cycle.
    """
    stack: list[int] = []
    memo: dict[int, int] = {}
    edges_from, edges_to = array("l"), array("l")  # object -> what it contains
    nodes = 0
    root = None
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(data)):
            if count >= max_ops:
                raise PickleShapeError(f"it takes more than {max_ops:,} steps to unpickle")
            name = op.name
            taken = _pop(stack, op)
            if name == "MARK":
                stack.append(MARK)
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = taken[0]
                stack.append(taken[0])
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif name == "DUP":
                stack.extend(taken * 2)
            elif name == "STOP":
                root = taken[0]
                break
            elif name in FILLS:
                container, *items = taken
                for item in items:
                    edges_from.append(container)
                    edges_to.append(item)
                stack.append(container)
            else:
                for _ in op.stack_after:
                    for item in taken:
                        edges_from.append(nodes)
                        edges_to.append(item)
                    stack.append(nodes)
                    nodes += 1
    except PickleShapeError:
        raise
    except (ValueError, KeyError, IndexError, EOFError, TypeError) as error:  # genops' and a bad stack's
        raise PickleShapeError(f"it is not a well-formed pickle ({type(error).__name__})") from None
    if root is None or stack:
        raise PickleShapeError("it is not a well-formed pickle (it does not end where its object does)")
    return _depth(root, nodes, edges_from, edges_to, max_depth, max_spread)


def _pop(stack: list[int], op: pickletools.OpcodeInfo) -> list[int]:
    """What `op` takes off the stack, bottom first: a fixed number of objects, or everything above a mark."""
    before = op.stack_before
    if pickletools.markobject not in before:
        if len(stack) < len(before) or MARK in stack[len(stack) - len(before) :]:
            raise PickleShapeError(f"it is not a well-formed pickle ({op.name} finds too little on the stack)")
        taken = stack[len(stack) - len(before) :] if before else []
        del stack[len(stack) - len(before) :]
        return taken
    below = before.index(pickletools.markobject)
    if MARK not in stack:
        raise PickleShapeError(f"it is not a well-formed pickle ({op.name} without a mark)")
    mark = len(stack) - 1 - stack[::-1].index(MARK)
    above = stack[mark + 1 :]
    del stack[mark:]
    if len(stack) < below or MARK in stack[len(stack) - below :]:
        raise PickleShapeError(f"it is not a well-formed pickle ({op.name} finds too little on the stack)")
    under = stack[len(stack) - below :] if below else []
    del stack[len(stack) - below :]
    return under + above


def _depth(root: int, nodes: int, edges_from: array, edges_to: array, max_depth: int, max_spread: int) -> int:
    """The longest chain of "contains" from `root`, walked with a stack of our own (no recursion);
    refused past `max_depth`, or when the objects counted at every place they appear pass `max_spread`
    (a tuple that holds another twice, 30 times over, is 2**30 places: its hash never ends)."""
    children: list[list[int]] = [[] for _ in range(nodes)]
    for parent, child in zip(edges_from, edges_to, strict=True):
        children[parent].append(child)
    depth, spread = [0] * nodes, [0] * nodes
    state = bytearray(nodes)  # 0 not seen, 1 on the current path, 2 done
    walk = [(root, 0)]
    while walk:
        node, next_child = walk.pop()
        state[node] = 1
        if len(walk) >= max_depth:
            raise PickleShapeError(f"it nests objects more than {max_depth} deep")
        if next_child < len(children[node]):
            walk.append((node, next_child + 1))
            child = children[node][next_child]
            if state[child] == 1:
                raise PickleShapeError("it holds an object that contains itself")
            if state[child] == 0:
                walk.append((child, 0))
            continue
        depth[node] = 1 + max((depth[child] for child in children[node]), default=0)
        # shared objects count once per place: hashing a tuple walks every place, again on each hash
        spread[node] = min(1 + sum(spread[child] for child in children[node]), max_spread + 1)
        if spread[node] > max_spread:
            raise PickleShapeError(f"its objects, counted at every place they appear, are more than {max_spread:,}")
        state[node] = 2
    return depth[root]
