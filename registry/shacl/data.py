"""The data graph of one validation run: reads of the store, memoised."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyoxigraph as ox

from registry.shacl.terms import RDF_TYPE, RDFS_SUBCLASS, XSD_STRING, Term, read_as_rdflib


class Data:
    """Reads of one data graph (every graph of the store), memoised for one validation run."""

    def __init__(
        self,
        store: ox.Store,
        preload: bool = False,
        triples: Iterable[ox.Triple | ox.Quad] | None = None,
    ) -> None:
        """``triples``: every triple the store holds, already at hand (a submission and the
        records it relates to), preloaded instead of reading the store back."""
        self.store = store
        self._out: dict[Term, dict[ox.NamedNode, list[Term]]] = {}
        self._preloaded = preload or triples is not None
        if self._preloaded:
            # One pass over a small store costs less than a lookup per subject.
            out, given = self._out, triples is not None
            literal = ox.Literal
            for q in store if triples is None else triples:
                subject = q.subject
                found = out.get(subject)
                if found is None:
                    out[subject] = found = {}
                obj = q.object
                if given and type(obj) is literal and obj.datatype != XSD_STRING:
                    obj = read_as_rdflib(obj)  # (a string is read as written)
                predicate = q.predicate
                values = found.get(predicate)
                if values is None:
                    found[predicate] = [obj]
                elif obj not in values:
                    values.append(obj)
        # Given triples are read as given (lexical forms as submitted: a store canonicalises
        # them), for targets and inverse paths too; built on first use.
        self._given = triples is not None
        self._by_predicate: dict[Term, list[tuple[Term, Term]]] = {}
        self._by_object: dict[ox.NamedNode, dict[Term, list[Term]]] = {}
        self._as_given: dict[ox.Literal, ox.Literal] | None = None
        self._types: dict[Term, list[Term]] = {}
        self._instances: dict[tuple[Term, Term], bool] = {}
        self._superclasses: dict[Term, set[Term]] = {}
        self._class_members: dict[Term, list[Term]] = {}

    def forget(self) -> None:
        """Drop the memoised reads (read again if needed): between batches of focus nodes."""
        if self._preloaded:
            return
        self._out.clear()
        self._types.clear()
        self._instances.clear()
        self._superclasses.clear()
        self._class_members.clear()

    def objects(self, subject: Term, predicate: ox.NamedNode) -> list[Term]:
        if isinstance(subject, ox.Literal):
            return []
        out = self._out.get(subject)
        if out is None:
            out = {}
            for q in self.store.quads_for_pattern(subject, None, None):
                out.setdefault(q.predicate, []).append(q.object)
            for key, values in out.items():
                if len(values) > 1:  # the same triple in several graphs counts once
                    out[key] = list(dict.fromkeys(values))
            self._out[subject] = out
        return out.get(predicate, [])

    def types(self, node: Term) -> list[Term]:
        """``node``'s rdf:type values. Unlike ``objects``, a node not read yet has only its types
        read: sh:class reaches other records (a right's asset), whose other triples it needs not.
        """
        out = self._out.get(node)
        if out is not None:
            return out.get(RDF_TYPE, [])
        found = self._types.get(node)
        if found is None:
            if isinstance(node, ox.Literal):  # (as the store refuses one as a subject)
                raise TypeError(f"a literal is no subject: {node}")
            found = self._types[node] = list(
                dict.fromkeys(q.object for q in self.store.quads_for_pattern(node, RDF_TYPE, None))
            )
        return found

    def subjects(self, predicate: ox.NamedNode, obj: Term) -> list[Term]:
        if self._given:
            by_object = self._by_object.get(predicate)
            if by_object is None:
                by_object = self._by_object[predicate] = {}
                for s, o in self.pairs(predicate):
                    by_object.setdefault(o, []).append(s)
            return by_object.get(obj, [])
        return list(
            dict.fromkeys(q.subject for q in self.store.quads_for_pattern(None, predicate, obj))
        )

    def pairs(self, predicate: Term) -> Iterator[tuple[Term, Term]]:
        if self._given:
            # Each predicate asked for (a target's rdf:type, an inverse path's) is gathered on
            # first use: a run asks for few of the many predicates a chunk holds.
            found_pairs = self._by_predicate.get(predicate)
            if found_pairs is None:
                found_pairs = self._by_predicate[predicate] = (
                    [(s, o) for s, found in self._out.items() for o in found.get(predicate, ())]
                    if isinstance(predicate, ox.NamedNode)
                    else []
                )
            yield from found_pairs
            return
        if not isinstance(predicate, ox.NamedNode):  # (as the store refuses one)
            raise TypeError(f"a predicate is an IRI, not {predicate}")
        for q in self.store.quads_for_pattern(None, predicate, None):
            yield q.subject, q.object

    def as_given(self, term: Term) -> Term:
        """A term a query on the store returned, as the given triples have it (the store
        canonicalised ``"300"^^xsd:byte`` to an xsd:integer; SHACL-SPARQL reports the former)."""
        if not self._given or not isinstance(term, ox.Literal):
            return term
        if self._as_given is None:
            given = {o for found in self._out.values() for os in found.values() for o in os}
            literals = [
                o for o in given if isinstance(o, ox.Literal) and o.datatype != XSD_STRING
            ]  # a store keeps strings as they are
            scratch = ox.Store()
            s, p = ox.NamedNode("urn:fdi:s"), ox.NamedNode("urn:fdi:p")
            mapping: dict[ox.Literal, ox.Literal | None] = {}
            for literal in literals:
                scratch.add(ox.Quad(s, p, literal))
                (stored,) = [q.object for q in scratch]
                scratch.clear()
                # Two given literals stored as one stay as the store has them (ambiguous).
                mapping[stored] = literal if stored not in mapping else None
            self._as_given = {k: v for k, v in mapping.items() if v is not None}
        return self._as_given.get(term, term)

    def superclasses(self, cls: Term) -> set[Term]:
        """``cls`` and every class it is a subclass of (rdfs:subClassOf*, in the data)."""
        found = self._superclasses.get(cls)
        if found is None:
            found, todo = {cls}, [cls]
            while todo:
                for parent in self.objects(todo.pop(), RDFS_SUBCLASS):
                    if parent not in found:
                        found.add(parent)
                        todo.append(parent)
            self._superclasses[cls] = found
        return found

    def is_instance(self, node: Term, cls: Term) -> bool:
        """``node rdf:type/rdfs:subClassOf* cls`` in the data graph."""
        key = (node, cls)
        known = self._instances.get(key)
        if known is None:
            known = any(cls in self.superclasses(t) for t in self.types(node))
            self._instances[key] = known
        return known

    def instances(self, cls: Term) -> list[Term]:
        found = self._class_members.get(cls)
        if found is None:
            found = self._class_members[cls] = self._instances_of(cls)
        return found

    def _instances_of(self, cls: Term) -> list[Term]:
        classes: set[Term] = {cls}
        todo: list[Term] = [cls]
        while todo:
            for sub in self.subjects(RDFS_SUBCLASS, todo.pop()):
                if sub not in classes:
                    classes.add(sub)
                    todo.append(sub)
        out: dict[Term, None] = {}
        for c in classes:
            out.update(dict.fromkeys(self.subjects(RDF_TYPE, c)))
        return list(out)
