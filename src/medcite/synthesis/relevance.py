"""Whether a sentence is evidence on the question's frame: about the agent, fitting the
population, and stating the asked-for item.

Selection and verification use the same rules, so a statement the article shows is one that
verification, recomputed from the stored text, would keep:

- **about**: the sentence names the agent (any of its names, brands, salt forms), or a class it
  names that the vocabulary says the agent belongs to (then the article says so), or it comes
  from the agent's own drug label or consumer page (whose sentences often name no drug);
- **population**: a sentence about another population than the one asked about (adults for a
  child, pregnant women for a child) does not fit, unless it names the asked-for one too;
- **asked-for item**: cue patterns per item (a dose states a quantity; a maximum dose a cap;
  an interaction a mechanism or concomitant use ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from medcite.models import AgentFrame, AskedFor, DocumentRecord, Population, SourceType
from medcite.synthesis.bands import weight_fits
from medcite.vocab.classes import all_classes, known_agents
from medcite.vocab.salts import mineral_names


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# A quantity given, not a concentration measured ("19.7 µg/mL in cord blood").
_QUANTITY = r"\d+(?:[.,]\d+)?\s?(?:-|–|to)?\s?\d*(?:[.,]\d+)?\s?(?:mg|mcg|µg|g|ml|mL|units?|IU|mEq|mmol)\b(?!\s?/\s?(?:m?L|ml|dL)\b)(?:\s?/\s?(?:kg|day|d|m2|dose))*"
_DOSE = _cue(_QUANTITY)
_CAP = _cue(r"\b(dos(e|age) range|increas\w* (the )?(dose|dosage|dosing frequency)( of \w+)? to|not (to )?exceed\w*|exceed\w*|maximum|max\.?|up to|no more than|at most|should not be (increased|more)"
            r"|limit(ed)? (to|the dose)|highest (recommended )?dose|do not (use|give|take) more)\b")
_ITEM_CUES: dict[AskedFor, re.Pattern[str]] = {
    AskedFor.TIMING: _cue(r"\b(with|without) (food|meals?)|\b(before|after) (meals?|food|eating|breakfast|bedtime)"
                          r"|\bbedtime\b|\bat night\b|\bin the (morning|evening)\b|\bonce (a |per )?(day|daily)\b"
                          r"|\btwice (a |per )?(day|daily)\b|\bevery \d+ (hours|days)\b|\bempty stomach\b|\bsame time\b"),
    AskedFor.DURATION: _cue(r"\bfor (at least |up to |a further |another )?\d+(\s?(-|–|to)\s?\d+)?\s?(days?|weeks?|months?|years?)\b"
                            r"|\bduration\b|\b\d+[- ](day|week|month)s? (course|of (treatment|therapy))\b|\bcourse of\b"),
    AskedFor.THRESHOLD: _cue(r"(<|>|≤|≥|=<|>=|\bbelow\b|\babove\b|\bless than\b|\bgreater than\b|\bat least\b|\bunder\b|\bover\b"
                             r"|\bexceed\w*)\s*\d|\d+(\.\d+)?\s?%\s*(or (higher|greater|more|lower|less)|and above)"
                             r"|\bthreshold\b|\bcut-?off\b|\btarget\b"
                             # a stopping rule: "Only continue HUMIRA in patients who ... by eight weeks"
                             r"|\bonly continue\b|\bdiscontinue\w*\b[^.]{0,60}\b(if|in patients who|when|unless)\b"
                             r"|\b(by|after|within) (week|day) \d+\b|\bby (\w+|\d+) weeks\b"
                             # a time window: "within 4.5 hours of symptom onset"
                             r"|\bwithin \d+(\.\d+)? ?(hours|h|minutes|min)\b|\b\d+(\.\d+)? ?(hours|h) (of|after|from) (symptom )?onset\b"),
    AskedFor.CONTRAINDICATION: _cue(r"\bcontraindicat\w*|\bshould not\b|\bmust not\b|\bdo not (use|take|give)\b|\bnot recommended\b"
                                    r"|\bavoid\w*|\bnot be used\b|\bis not safe\b|\bunsafe\b|\bshould be avoided\b|\bboxed warning\b"
                                    r"|\bfetal (harm|toxicity|risk)\b|\bcan cause (fetal|birth)|\bsafe(ly)? (in|during|for|to use|at|with|when)\b"
                                    r"|\bcompatible with\b|\bno (increased )?risk\b|\brisk factors?\b|\bincreas\w* (the )?risk\b"
                                    r"|\bbirth defects?\b|\bmiscarriage\b|\bteratogen\w*"),
    # A recommendation of whom to offer it to; states_item also wants the criterion.
    AskedFor.INDICATION: _cue(r"\brecommend\w*|\bshould (be )?(offered|receiv\w*|use|used|screened|treated|given|started"
                              r"|considered|initiated|start)\b|\bindicated (for|in)\b|\bis indicated\b|\beligib\w*"
                              r"|\bcandidates?\b|\bscreen(ing)? (for|all|adults|everyone|persons)\b|\bsuggest\w* (that|offering|using)\b"),
    # not a molecular one: "interaction between a part of the ENPP1 protein and ..."
    AskedFor.INTERACTION: _cue(r"\binteract\w*+(?! effects?\b| terms?\b| analys\w*| (between|with) (a |the )?(part|proteins?|receptors?"
                               r"|domains?|genes?|molecules?|cells?|residues?|enzymes?|dna|rna)\b)|\bconcomitant\w*|\bconcurrent\w*|\bco-?administ\w*|\bcombin\w*|\btogether with\b|\bCYP\s?\d\w*"
                               r"|\b(strong|moderate|potent|weak) (CYP\w* )?(inhibitor|inducer)s?\b|\binduc(er|es|ing|tion) (of )?(CYP|P-gp|the metabolism|metabolism|hepatic)"
                               r"|\binhibit\w* (the )?(metabolism|clearance|CYP)|\bP-glycoprotein\b|\bserotonin syndrome\b"
                               r"|\bincrease\w* (the )?(plasma )?(levels?|concentrations?|exposure|AUC)\b|\bAUC\b|\bwhile taking\b"
                               r"|\btaking\b[^.]{0,40}\bwith\b|\b(patients|those|people) (taking|receiving|on treatment with)\b"
                               # an instruction on the pair: "Avoid the use of live vaccines with HUMIRA"
                               r"|\b(decreas|reduc|increas|lower)\w* the (effectiveness|efficacy|effects?|levels?|blood levels?) of\b"
                               r"|\bavoid\w*\b[^.]{0,60}\bwith\b|\bexcept (for )?\w+|\b(do not|should not) (be )?(use|give|take|combine|administer)\w*\b[^.]{0,40}\bwith\b"),
    # A harm it causes: "a risk of" or "reported" alone is any result ("lowers the risk of").
    # ("Class III: Harm" grades a recommendation; it names no harm)
    AskedFor.ADVERSE_EFFECTS: _cue(r"\bside effects?\b|\badverse\b|(?<!-)\bcause[sd]?\b|\btoxicit\w*|\bmay lead to\b|\bwarning\b|(?<!III: )\bharm\w*"
                                   r"|\bincreas\w* (the )?risk\b|\b(higher|greater) (risk|incidence|rates?) of\b"
                                   r"|\bassociated with (an? )?(increased|higher|greater)\b|\b(cases|reports) of\b"
                                   r"|\b(has|have) been reported (in|with|during|following|after)\b"
                                   r"|\brisk of (serious|severe|bleeding|death|myopathy|infection)"),
    AskedFor.EFFICACY: _cue(r"\beffective\w*|\befficacy\b|\bimprov\w+|\breduc\w+|\bsignificant\w*|\bbenefi\w+|\bno (significant )?"
                            r"(difference|effect)|\bdid not\b|\bsuperior\b|\binferior\b|\bresponse\b|\bremission\b|\bbetter\b"
                            r"|\bworse\b|\bdecreas\w+|\bincreas\w+|\bprevent\w*|\bhelp\w*|\bcur(e|es|ed|able)\b"
                            r"|\b(do|does|will|can) not (work|fight|treat|kill)\b"),
    # A recommendation of a treatment: "the recommendations ... are organized" is none.
    AskedFor.FIRST_LINE: _cue(r"\bfirst[- ]line\b|\binitial (therapy|treatment)\b|\bpreferred\b|\b(treatment|drug) of choice\b"
                              r"|\brecommends?\b(?! against)|\b(is|are) recommended\b|\brecommended (as|for|first|initial)\b|\bshould be (used|treated|given|offered|started)\b|\b(is|are) indicated\b"
                              r"|\bmainstay\b|\bthe only (effective |known |available |proven )?(treatment|therapy)\b|\bstandard (therapy|treatment)\b|\btreated with\b|\btreatment (is|includes|options)\b"),
    # Anything that treats or relieves it: a recommendation, or a treatment said to help.
    AskedFor.TREATMENT: _cue(r"\brecommends?\b(?! against)|\b(is|are) recommended\b|\b(is|are) indicated\b|\btreated with\b"
                             r"|\btreatments? (is|are|includes?|options?)\b|\bfirst[- ]line\b|\bmainstay\b|\bunclogs?\b"
                             r"|\b(may|can|will|to|that) (help|relieve|ease|reduce|control|unclog|soothe|stop|treat)\b|\brelie(f|ves?|ved)\b"
                             r"|\breduce[sd]\b|\beffective\b|\bused (to|for|in)\b|\b(for|in) the (treatment|management) of\b"
                             r"|\bcan be (treated|managed|relieved|controlled)\b"
                             r"|\b(medicines?|medications?|drugs?) (such as|like|called|include|for)\b|\boptions? include\b"),
    AskedFor.COMPARISON: _cue(r"\bcompared\b|\bversus\b|\bvs\.?\b|\bthan\b|\bsuperior\b|\binferior\b|\bsimilar\w*\b|\bequally\b"
                              r"|\bdiffer\w*\b|\bnon-?inferior\w*|\bequivalent\b"),
    # What brings it about; "treatment depends on the cause" names no cause.
    AskedFor.CAUSE: _cue(r"\bcaused by\b|\bcauses (of \w+ )?(include|are|is)\b|\bcan (be )?cause\b|\bresults? from\b"
                         r"|\brisk factors?\b|\bmutations? in\b|\bdue to\b|\bspread (by|through|from)\b|\btransmitted\b"
                         r"|\bbites? of\b|\b(occurs|happens|develops) when\b|\bcommon causes?\b"),
    AskedFor.INHERITANCE: _cue(r"\b\d+ ?(percent|%) (chance|risk)\b|\binherit\w*|\bautosomal (dominant|recessive)\b"
                               r"|\bone copy of\b|\b(pass|passed) (on|down)\b|\bx-linked\b"),
    AskedFor.MISSED_DOSE: _cue(r"\bmiss(ed|es)? (a |your |the )?dose\b|\bas soon as (you|they) remember\b|\bnext (scheduled )?dose\b"
                               r"|\bdo not take (2|two) doses\b|\bdouble (the |a )?dose\b"),
    # "you may notice", never "treatments may include"
    AskedFor.SYMPTOMS: _cue(r"\bsymptoms?\b|\bsigns\b|\bpresents? with\b"
                            r"|\b(you|people|patients|children|adults|they|he|she|some|many|most|others|person)\b (\w+ ){0,3}"
                            r"may (have|experience|notice|feel|develop)\b"
                            r"|\bcharacteri[sz]ed by\b|\bcomplain\w* of\b"),
    AskedFor.MECHANISM: _cue(r"\bworks? by\b|\bmechanism\w*|\binhibit\w*|\bblock\w*|\bbind\w*|\bantagonis\w*|\bagonis\w*"
                             r"|\bacts? (on|by|as)\b|\breceptors?\b|\benzyme\w*|\breuptake\b|\bpathway\b"),
    AskedFor.ELIMINATION: _cue(r"\bhalf[- ]li(fe|ves)\b|\beliminat\w*|\bexcret\w*|\bclearance\b|\bcleared\b"
                               r"|\bdetect(ed|able)\b[^.;]{0,40}\b(urine|blood|plasma|hair|for|up to|after)\b|\bwashout\b"),
    # "within 4 weeks" alone may be when to recheck a lab: an effect or a start must be named with it
    AskedFor.ONSET: _cue(r"\bonset\b|\b(effects?|response|improve\w*|relie\w+|reduc\w+|lower\w*|benefits?|works?|noticeable"
                         r"|seen|felt|control)\b[^.;]{0,60}\bwithin \d+(\s?(-|–|to)\s?\d+)? ?(minutes?|hours?|days?|weeks?)\b"
                         r"|\bwithin \d+(\s?(-|–|to)\s?\d+)? ?(minutes?|hours?|days?|weeks?) (of|after) (starting|beginning|initiating|treatment|therapy|taking)\b"
                         r"|\b(full|maximum|peak|therapeutic) (\w+ )?effects?\b[^.;]{0,60}\b\d+ ?(days?|weeks?|hours?|months?)\b"
                         r"|\bstarts? (to )?work\w*|\bbegins? to work"
                         r"|\btakes? (about |up to |at least )?(\d+(\s?(-|–|to)\s?\d+)? ?|several |a few |a couple of |many )"
                         r"(days?|weeks?|months?|hours?)\b"
                         r"|\bpeak (plasma )?(concentrations?|levels?)\b[^.;]{0,40}\b\d"),
    # A product described: its colour or shape with its dosage form, or its markings.
    AskedFor.APPEARANCE: _cue(r"\b(white|off-white|yellow|pink|orange|red|blue|green|brown|purple|peach|beige|tan|gr[ae]y|lavender"
                              r"|colou?rless|clear)\b[^.;]{0,60}\b(tablets?|capsules?|caplets?|pills?|solution|liquid|gelcaps?)\b"
                              r"|\b(round|oval|oblong|elliptical|capsule-shaped|biconvex|triangular|diamond-shaped)\b[^.;]{0,40}"
                              r"\b(tablets?|capsules?|caplets?)\b|\b(debossed|imprinted|engraved|embossed|printed|coded) (with|on)\b"),
    AskedFor.INGREDIENTS: _cue(r"\b(inactive|active) ingredients?\b|\bexcipients?\b|\bingredients? (include|are|is)\b"
                               r"|\beach (tablet|capsule|caplet|ml|vial|syringe|pen|dose|film-coated tablet|packet)\b[^.;]{0,40}\bcontains?\b"
                               r"|\b(is|are) made (from|of)\b|\bcontains? (no |the )?(gluten|lactose|alcohol|sucrose|sugar|gelatin|dyes?|latex)\b"),
    # A strength sold: "tablets containing 10, 20, 40, and 80 mg", "a pen ... providing 40 mg".
    AskedFor.STRENGTH: _cue(r"\b(containing|contains?|providing|provides|available (as|in)|supplied (as|in)|comes? in)\b"
                            r"[^.;]{0,80}?\b\d+(\.\d+)? ?(mg|mcg|µg|g|units?|iu|%)(?![a-z])"
                            r"|\b\d+(\.\d+)? ?(mg|mcg|µg)(/\d+(\.\d+)? ?ml)? (tablets?|capsules?|caplets?|pens?|vials?|patch(es)?"
                            r"|prefilled syringes?)\b[^.;]{0,40}\b(available|supplied|coded|debossed|contain\w*)\b"),
    AskedFor.STORAGE: _cue(r"\bstored?\b[^.;]{0,30}\b(at|in|between|below|under|refrigerat\w*|upright|original)\b|\brefrigerat\w*"
                           r"|\broom temperature\b|\d\s?°\s?[CF]\b|\bdo not freeze\b|\bprotect(ed)? from (light|moisture|heat)\b"
                           r"|\bdiscard\w*|\bdispos(e|ed|es|al|ing)\b|\bkeep (\w+ )?(out of|away from|in)\b|\bexpir\w*|\bshelf[- ]life\b"),
}
_CRITERION = _cue(r"\b(adults?|aged?|years?|born|risk|persons?|people|individuals|women|men|children|adolescents"
                  r"|patients (with|who|at)|those (with|who|at)|anyone|everyone|all (adults|patients|persons))\b")
# Question words that only name the asked-for item, not a topic a sentence should carry.
ITEM_NAMING_WORDS: dict[AskedFor, frozenset[str]] = {
    AskedFor.ADVERSE_EFFECTS: frozenset({"side", "effects", "effect", "affects", "adverse", "reactions", "reaction",
                                         "cause", "causes", "causing", "long", "term", "consequences",
                                         "risks", "dangers", "possible", "common", "serious", "using", "use",
                                         "taking",
                                         # what stopping does: "danger in stopping it suddenly"
                                         "stop", "stopping", "stopped", "quit", "quitting", "danger",
                                         "dangers", "suddenly", "abruptly", "happens", "happen", "problems",
                                         "problem", "coming", "withdrawal", "issues",
                                         # harm asked in general: "lead to negative health outcomes"
                                         "negative", "health", "outcomes", "outcome", "lead", "leads",
                                         "bad", "harmful", "harm", "harms", "addictive", "dangerous"}),
    AskedFor.FIRST_LINE: frozenset({"first", "line", "treatment", "treatments", "therapy", "initial", "best",
                                    "preferred", "choice"}),
    AskedFor.TREATMENT: frozenset({"treatment", "treatments", "treat", "medication", "medications", "medicine",
                                   "prescribe", "take", "help", "relieve", "reduce", "ease", "anything",
                                   "something", "kind", "meantime", "rid", "stop", "try", "prescribed",
                                   "used", "given", "treats", "taken", "need"}),
    AskedFor.CAUSE: frozenset({"cause", "causes", "caused", "causing", "get", "catch", "caught"}),
    AskedFor.SYMPTOMS: frozenset({"symptoms", "symptom", "signs", "sign", "know", "tell"}),
    AskedFor.INHERITANCE: frozenset({"inherit", "inherited", "chance", "chances", "risk", "odds", "pass"}),
    AskedFor.MISSED_DOSE: frozenset({"miss", "missed", "forgot", "forget", "dose", "skipped"}),
    AskedFor.ONSET: frozenset({"fast", "quickly", "soon", "long", "work", "works", "working", "start",
                               "effect", "affect", "kick", "notice", "takes", "before", "until"}),
    AskedFor.ELIMINATION: frozenset({"long", "stay", "stays", "system", "body", "half", "life", "leave",
                                     "out", "show", "detected", "remain"}),
    AskedFor.APPEARANCE: frozenset({"look", "looks", "like", "color", "colour", "colors", "shape", "size",
                                    "imprint", "imprinted", "marking", "markings", "identify", "pill", "pills",
                                    "tablet", "tablets", "capsule", "capsules"}),
    AskedFor.INGREDIENTS: frozenset({"ingredient", "ingredients", "inactive", "active", "contain", "contains",
                                     "made", "whats", "excipients"}),
    AskedFor.STRENGTH: frozenset({"strength", "strengths", "come", "comes", "available", "sold", "supplied",
                                  "mg", "mgs", "milligrams", "milligram", "dosage", "dose", "doses"}),
    AskedFor.STORAGE: frozenset({"store", "stored", "storage", "keep", "kept", "refrigerate", "refrigerated",
                                 "fridge", "dispose", "disposal", "throw", "away", "expire", "expired",
                                 "expiration"}),
}
_TREATMENT = _cue(r"\b(therapy|therapies|treatment|medications?|medicines?|drugs?|agents?|psychotherapy|surgery|diet"
                   r"|exercise|lifestyle|antibiotics?|insulin|vaccin\w*|monotherapy|pharmacotherapy|inhibitors?|blockers?)\b")
_COURSE = _cue(r"\blasts\b|\blast(ed|ing)? (for|about|up to|around|between|from|only|\d)|\b(go(es)? away|goes? away"
               r"|resolv\w+|heal\w*|recover\w*|get(s)? better|clears? up"
               r"|subsid\w+|persist\w*)\b")
_SPAN = _cue(r"\b\d+(\s?(-|–|to)\s?\d+)?\s?(days?|weeks?|months?|hours?)\b|\ba (few|couple of) (days|weeks|months)\b"
             r"|\bwithin (a|one|two|three|several) (days?|weeks?|months?)\b|\b(one|two|three|four|six|several) (days|weeks|months)\b")
_DEFINITION = _cue(r"\b(is|are) (a|an|the|one of|any|common|rare|inflammation|infection|swelling|when)\b|\brefers? to\b"
                   r"|\bis (defined|characteri[sz]ed) as\b|\bmeans\b|\bcaused by\b"
                   # what a nutrient or drug does: "Vitamin A plays a role in your vision"
                   r"|\bplays? (a|an|many|several|important|key|major|an important|a key|a major) (\w+ )?roles?\b"
                   r"|\b(is|are) (needed|important|essential|necessary|used) (for|to|in)\b|\bhelps? (the|your) body\b")
# A drug named as one of a kind: "antiviral medicines include acyclovir, valacyclovir" says what
# valacyclovir is.
_MEMBER_OF = _cue(r"\b(medicines?|medications?|drugs?|antivirals?|antibiotics?|agents?|inhibitors?|blockers?|vaccines?"
                  r"|antidepressants?|antihistamines?|analgesics?|painkillers?)\b[^.;]{0,40}\b(such as|include|includes|including"
                  r"|like|called)\b")
# A schedule: how often a dose is given.
_FREQUENCY = _cue(r"\bevery \d+(\s?(-|–|to)\s?\d+)? (hours?|days?|weeks?|months?|years?)\b"
                  r"|\b(once|twice|three times|four times) (a |per |each )?(day|week|month|year)\b"
                  r"|\b(once|twice) (daily|weekly|monthly)\b|\bbooster (dose )?every\b")

# Efficacy direction: what a sentence reports.
_POSITIVE = _cue(r"\b(improv\w+|effective|efficacious|beneficial|benefits?|superior|significant(ly)? (reduc|improv|decreas|lower)\w*"
                 r"|reduced|lowered|relieved?|alleviat\w+|remission|response rates? (was|were) higher"
                 r"|(can|will|may|usually) cure|cures?|cured|curable)\b")
_NEGATIVE = _cue(r"\b(no (significant |clear |consistent )?(effect|difference|benefit|improvement|evidence)|not (significantly )?"
                 r"(effective|improve\w*|reduce\w*|associated|superior|recommended)|did not|does not|failed to|ineffective"
                 r"|insufficient evidence|no better than|was not|were not|(have|has) not been shown"
                 r"|(do|does|will|can) not (work|help|fight|treat|cure|kill)|(don'?t|won'?t|can'?t) (work|help|fight|treat|cure|kill))\b")

# Populations a sentence can be about.
_GROUPS: dict[str, re.Pattern[str]] = {
    "child": _cue(r"\b(child(ren|hood)?|p(a)?ediatric\w*|infants?|neonat\w*|newborns?|toddlers?|adolescents?|kids?"
                  r"|young children|school-?age\w*|boys|girls|under (age )?([1-9]|1[0-8]) years"
                  # "aged 2 to 5 years", never "aged 40 to 75 years"
                  r"|aged? ([0-9]|1[0-7]) (months|to ([0-9]|1[0-8]) years))\b"),
    "adult": _cue(r"\b(adults?|adult patients|men and women|elderly|older (adults|patients|people)|postmenopausal|aged (≥|>=)? ?(18|19|[2-9]\d))\b"),
    "pregnancy": _cue(r"\b(pregnan\w*|trimester|gestation\w*|prenatal|antenatal|obstetric\w*)\b"),
    "lactation": _cue(r"\b(breast-?\s?feed\w*|breast ?milk|lactat\w*|nursing (mothers|women|infants))\b"),
    "renal": _cue(r"\b(renal|kidney|egfr|crcl|creatinine clearance|dialysis|ckd)\b"),
    "hepatic": _cue(r"\b(hepatic|liver|cirrhosis|child-pugh)\b"),
}


def _groups_asked(population: Population) -> set[str]:
    asked = set()
    if population.age_group in ("infant", "child", "adolescent"):
        asked.add("child")
    elif population.age_group in ("adult", "older adult"):
        asked.add("adult")
    if population.pregnancy:
        asked.add("pregnancy")
    if population.lactation:
        asked.add("lactation")
    if population.renal_impairment:
        asked.add("renal")
    if population.hepatic_impairment:
        asked.add("hepatic")
    return asked


@lru_cache(maxsize=65_536)
def groups_named(text: str) -> frozenset[str]:
    """The populations a sentence names."""
    return frozenset(g for g, pattern in _GROUPS.items() if pattern.search(text))


def population_conflict(text: str, population: Population) -> str | None:
    """Why the sentence is about another population than the one asked about, or None.

    A child's question does not take a sentence about adults or pregnant women unless it names
    children too; a question about pregnancy does not take one about children only.
    """
    if weight_fits(text, population) is False:
        return f"about another body weight than {population.weight_kg:g} kg"
    asked = _groups_asked(population)
    named = groups_named(text)
    if not asked or named & asked or not named:
        return None
    if "child" in asked and named & {"adult", "pregnancy", "lactation"}:
        return f"about {', '.join(sorted(named))}, not children"
    if asked & {"pregnancy", "lactation"} and named == frozenset({"child"}):
        return "about children, not pregnancy or breastfeeding"
    if "adult" in asked and named == frozenset({"child"}):
        return "about children, not adults"
    return None


_PRECLINICAL = _cue(r"\btimes the (maximum )?(recommended )?human\b|\bnonclinical toxicology\b|\bcarcinogenesis\b"
                    r"|\b(in vitro|in-vitro|cell lines?|cells were|cultured|mice|mouse|rats?|murine|rodents?|rabbits?"
                    r"|dogs?|monkeys?|sacrificed|zebrafish|western blot\w*|animal (studies|models?|data)"
                    # laboratory microbiology: "antibacterial activities against E. coli"
                    r"|antibacterial activit\w+|minimum inhibitory concentrations?|zones? of inhibition|agar"
                    r"|against (escherichia coli|e\. ?coli|staphylococcus aureus|s\. ?aureus|bacterial strains))\b")
# Materials science and engineering that share a drug's name (lithium anodes, magnesium alloys).
_NONCLINICAL = _cue(r"\b(anodes?|cathodes?|electrodes?|alloys?|semiconductors?|lithium[- ]ion|lithium metal"
                    r"|photocatal\w+|solar cells?|nanosheets?|electrochemical"
                    # formulation science: a drug's solubility or dissolution, not its use
                    r"|aqueous solubility|solid dispersions?|glass[- ]transition|calorimetry|dissolution rate"
                    r"|nanoformulations?|taste-masked|excipient compatibility|tablet hardness|friability"
                    # environmental science: a drug in rivers, wastewater or fish
                    r"|surface waters?|wastewater|river water|sewage|environmentally relevant|aquatic (organisms|environments?|ecosystems?|toxicity)"
                    # farming: antibiotics in shrimp ponds or livestock feed are no clinical use
                    r"|aquaculture|shrimp|livestock|poultry|broilers?|animal feed|fish farm\w*)\b")
# The weightier statements of an item: the most common or serious effects, the boxed warning.
_EMPHASIS: dict[AskedFor, re.Pattern[str]] = {
    # The effects most patients meet, and the boxed warning; "serious" alone is any of many.
    AskedFor.ADVERSE_EFFECTS: _cue(r"\bmost (common|frequent)\w*(?![^.]{0,80}\b(led to|leading to) (treatment )?discontinuation)"
                                   r"|\bboxed warning\b"),
    AskedFor.DOSE: _cue(r"\brecommended (starting |usual |initial )?dos(e|age)\b|\bstarting dose\b|\bdosage range\b"),
    AskedFor.INTERACTION: _cue(r"\bavoid\w*\b|\bcontraindicated\b|\bdo not (exceed|use|take|combine)\b|\bshould be limited to\b"
                               r"|\bserotonin syndrome\b"),
    AskedFor.MAXIMUM_DOSE: _cue(r"\bnot (to )?exceed\b|\bmaximum\b|\bshould be limited to\b"),
    AskedFor.CONTRAINDICATION: _cue(r"\bcontraindicated\b|\bshould not be used\b|\bboxed warning\b"
                                    r"|\bonly if (clearly )?needed\b|\brecommended to continue\b"),
    AskedFor.FIRST_LINE: _cue(r"\bfirst[- ]line\b|\bpreferred\b|\bof choice\b|\bthe only (effective |known |available |proven )?(treatment|therapy)\b"),
    # Where and at what temperature it is kept, before how its packaging is thrown away
    AskedFor.STORAGE: _cue(r"\brefrigerat\w*|\broom temperature\b|\d\s?°\s?[CF]\b|\bdo not freeze\b|\bstore[ds]? (at|in|between|below)\b"),
    # Used for a condition: "X is used to treat", "indicated for"
    AskedFor.TREATMENT: _cue(r"\bfirst[- ]line\b|\bpreferred\b|\bof choice\b|\bthe only (effective |known |available |proven )?(treatment|therapy)\b"
                             r"|\b(is|are) (used|indicated|prescribed|approved) (to treat|for|in)\b"),
    # A duration stated as a span of time, not the word "duration"
    AskedFor.DURATION: _cue(r"\b\d+\s?(–|-|to)\s?\d+\s?(days|weeks|months|years)\b|\b(for|of) (at least )?\d+ (days|weeks|months|years)\b"),
    AskedFor.SYMPTOMS: _cue(r"\b(most (common|frequent)|main|classic) (\w+ ){0,3}(symptoms?|signs?)\b"),
    AskedFor.CAUSE: _cue(r"\b(is|are) (usually |often |mostly |most often |commonly )?caused by\b|\b(most )?common causes?\b"
                         r"|\bspread (to (people|humans) )?(by|through)\b|\b(occurs|happens|develops) when\b"),
    AskedFor.INHERITANCE: _cue(r"\b\d+ ?(percent|%) (chance|risk)\b"),
    AskedFor.MISSED_DOSE: _cue(r"\bas soon as (you|they) remember\b"),
    AskedFor.ELIMINATION: _cue(r"\bhalf[- ]li(fe|ves)\b[^.;]{0,60}\d"),
    # A formal recommendation of whom, as a whole population: an age band or a risk level, not
    # one disease's patients.
    AskedFor.INDICATION: _cue(r"^(?=.*\brecommend)(?:.*\b(adults|persons|people|individuals|women|men|everyone|anyone)\b"
                              r"[^.;]{0,120}\b(aged|years?|risk|older|younger)\b|.*\baged \d+)"),
}


# A sentence that reports what a study did or measured rather than what to do ("29 patients
# received ...", "trough concentrations were ...").
_STUDY_REPORT = _cue(r"\bin (a|an|one|this|the) (\w+ ){0,5}(study|studies|trial|trials)\b|\bwere randomi[sz]ed\b"
                     r"|\bin (clinical|controlled|randomi[sz]ed|open-label) (\w+ )?trials\b"
                     r"|\b(steady-state|trough|peak|serum|plasma) (\w+ ){0,2}concentrations?\b|\bCmax\b|\bAUC\b"
                     r"|\bpharmacokinetics? (of|were|was)\b|\b(patients|subjects) (were )?enrolled\b|\bopen-label\b"
                     r"|\bpatients (received|were (given|treated|evaluated))\b|\b(was|were|have been|has been) evaluated\b"
                     r"|\bwe (\w+ly )?([a-z]+ed|gave|found|conducted)\b"
                     r"|\b(was|were) administered\b|\b(patients|subjects|participants|volunteers) who (received|were given)\b")


# A label's packaging and storage sections give strengths ("Carton – 20 mg"), never a dose.
_SUPPLY_SECTION = _cue(r"\bhow supplied\b|\bstorage and handling\b|\bpackage label\b|\bprincipal display panel\b")


# What stopping a drug does, not why it was stopped ("discontinued due to adverse reactions").
_DISCONTINUATION = _cue(r"\bwithdrawal\b|\bdiscontinuation (symptoms?|syndrome|reactions?|effects?)\b"
                        r"|\b(after|when|upon|on|before) (stopping|discontinu\w+|cessation|withdrawal|coming off)\b"
                        r"|\b(after|when|if|once) (you |they |patients |people )?(stop|stops|quit|quits)\b"
                        r"|\babrupt\w*|\btaper\w*|\brebound\b|\bcutting back slowly\b"
                        r"|\b(stopping|discontinuing|cessation of)\b[^.;]{0,40}\b(may|can|could|causes?|leads? to|results? in)\b")


def states_discontinuation(text: str) -> bool:
    return bool(_DISCONTINUATION.search(text))


def supply_section(section: str) -> bool:
    return bool(_SUPPLY_SECTION.search(section or ""))


_STRENGTH_SECTION = _cue(r"\bdosage forms? and strengths?\b|\bhow supplied\b")
_AMOUNT = _cue(r"\b\d+(\.\d+)? ?(mg|mcg|µg|g|units?|iu)\b")  # a volume alone is no strength


def states_strength_in_section(quote: str, section: str) -> bool:
    """Under a label's Dosage Forms and Strengths or How Supplied heading, an amount stated
    is a strength sold ("Tablets: 10 mg, 20 mg")."""
    return bool(_STRENGTH_SECTION.search(section or "") and _AMOUNT.search(quote))


# What answers "is it safe in pregnancy / while breastfeeding?" beyond a contraindication: the
# label's conditions of use, what is not known, transfer to the fetus or the milk, a guideline's
# advice to continue.
_PREGNANCY_SAFETY = _cue(r"\b(should|may|can) (only )?be used (during|in) (a )?pregnancy\b|\bonly if (clearly )?needed\b"
                         r"|\bnot known (if|whether)\b|\b(have|has) not been (conducted|studied|established)\b"
                         r"|\b(recommended|safe) to continue\b|\bcross(es|ing)? the placenta\b|\bplacental transfer\b"
                         r"|\b(present|excreted|detected|transferred) in(to)? (human )?(breast )?milk\b|\bbreastfed infants?\b"
                         r"|\bpregnancy (category|registry|exposure registry)\b|\bcompatible with breast-?feeding\b"
                         r"|\b(benefits?|risks?) (of|to) the (fetus|infant|mother)\b")


# What answers a dose question for reduced kidney or liver function without a number: whether the
# dose is adjusted at all ("dose adjustment ... is not necessary").
_DOSE_ADJUSTMENT = _cue(r"\b(dose|dosage|dosing) (adjustment|reduction|modification)s?\b|\badjust\w* (the )?(dose|dosage)\b"
                        r"|\breduce (the )?(dose|dosage)\b|\bno (dose|dosage) (adjustment|change)\b")


def dose_adjustment(text: str) -> bool:
    return bool(_DOSE_ADJUSTMENT.search(text))


def dose_adjustment_span(text: str) -> str | None:
    match = _DOSE_ADJUSTMENT.search(text)
    return match.group(0) if match else None


def pregnancy_safety(text: str) -> bool:
    return bool(_PREGNANCY_SAFETY.search(text))


def reports_study(text: str) -> bool:
    return bool(_STUDY_REPORT.search(text))


def preclinical_sentence(text: str) -> bool:
    """The sentence reports animal or laboratory work (mice, cell lines), whatever its source."""
    return bool(_PRECLINICAL.search(text))


def nonclinical_sentence(text: str) -> bool:
    """The sentence is about materials or devices, not patients, whatever drug name it shares."""
    return bool(_NONCLINICAL.search(text))


def emphasised(text: str, item: AskedFor) -> bool:
    return emphasis_span(text, item) is not None


def emphasis_span(text: str, item: AskedFor) -> str | None:
    """The words that make the sentence a weightier statement of the item ("should be avoided")."""
    pattern = _EMPHASIS.get(item)
    match = pattern.search(text) if pattern else None
    if match and item in (AskedFor.FIRST_LINE, AskedFor.TREATMENT) and not names_treatment(text):
        return None  # "PSI is preferred over CURB-65" prefers a score, not a treatment
    return match.group(0) if match else None


_NAMED_TREATMENT = _cue(r"\b(psychotherapy|surgery|diet|exercise|lifestyle|insulin|cognitive behavio\w* therapy|CBT"
                        r"|physical therapy|radiotherapy|chemotherapy)\b")


def names_treatment(text: str) -> bool:
    """The sentence names a drug, a drug class or a named kind of therapy."""
    return bool(_NAMED_TREATMENT.search(text) or name_spans(text, known_agents()))


def in_section(quote: str, section: str) -> str:
    """The quote as its population reads it: with the most specific heading it stands under
    ("Pediatric Patients (10-17 years of age)"), which often names who it is about."""
    heading = section.rsplit(">", 1)[-1].strip()
    return f"{heading}: {quote}" if heading else quote


def fits_population(text: str, population: Population) -> bool:
    return population_conflict(text, population) is None


def names_population(text: str, population: Population) -> bool:
    """The sentence names the population asked about (a reason to prefer it)."""
    return bool(groups_named(text) & _groups_asked(population)) or weight_fits(text, population) is True


@dataclass(frozen=True)
class Aboutness:
    about: bool
    via_class: str | None = None  # the class name the sentence uses for the agent
    via_document: bool = False  # the agent's own label or consumer page


def document_subject(document: DocumentRecord, subject: AgentFrame) -> bool:
    """The document is the agent's own label, a consumer page on the agent or condition, or a
    guideline on the condition ("Standards of Care in Diabetes": its targets are for diabetes)."""
    own = (SourceType.DRUG_LABEL, SourceType.CONSUMER_HEALTH)
    if subject.kind not in ("drug", "supplement"):
        own += (SourceType.GUIDELINE,)
    if document.source_type not in own:
        return False
    return names_any(document.title, tuple(subject.names)) and not counter_ion_only(document.title, subject)


def counter_ion_only(text: str, subject: AgentFrame) -> bool:
    """``text`` names a mineral only as another drug's counter-ion: the Lipitor label's
    "atorvastatin calcium" is no page on calcium."""
    if subject.name.lower() not in mineral_names():
        return False
    spans = name_spans(text, tuple(subject.names))
    words, agents = _tokens(text), _single_word_agents()
    return bool(spans) and all(start > 0 and words[start - 1] in agents for start, _ in spans)


@lru_cache(maxsize=1)
def _single_word_agents() -> frozenset[str]:
    return frozenset(n for n in known_agents() if " " not in n)



_TOKEN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=65_536)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text.lower()))


def name_spans(text: str, names: tuple[str, ...]) -> list[tuple[int, int]]:
    """Word positions (start, end) where ``text`` contains one of ``names`` as a run of whole
    words, punctuation aside: "St. John's wort" is the name "st john's wort"."""
    words = _tokens(text)
    positions: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        positions.setdefault(word, []).append(i)
    spans = []
    for name in names:
        parts = _tokens(name)
        if not parts:
            continue
        for i in positions.get(parts[0], ()):
            # "anti-thyroid medications", "non-aspirin NSAIDs", "non-opioid analgesics" name
            # what the agent is not
            if words[i:i + len(parts)] == parts and not (i and words[i - 1] in _NEGATING_PREFIXES):
                spans.append((i, i + len(parts)))
    return spans


_NEGATING_PREFIXES = frozenset({"anti", "non"})


def names_any(text: str, names: list[str] | tuple[str, ...]) -> bool:
    return bool(name_spans(text, tuple(names)))


@lru_cache(maxsize=16_384)
def local_abbreviations(passage_text: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """Abbreviations the passage defines for one of ``names`` ("St. John's wort (SJW)"), so
    its later sentences ("SJW induces CYP3A4") are about the same agent."""
    found = []
    for name in names:
        parts = _tokens(name)
        if not parts:
            continue
        pattern = re.compile(r"\b" + r"\W+".join(map(re.escape, parts)) + r"\s*\(([A-Z][A-Za-z0-9-]{1,7})\)", re.I)
        found += [m.group(1) for m in pattern.finditer(passage_text) if m.group(1).isupper()]
    return tuple(dict.fromkeys(a.lower() for a in found))


_HEADING_LINE = re.compile(r"^[A-Z][\w'’(),/ -]{2,60}$")


def inline_heading(passage_text: str, text: str) -> str | None:
    """The sub-heading a consumer page writes on a line of its own above ``text`` inside the
    passage ("Pneumococcal Pneumonia Vaccine" above "In most adults, one shot is good for ..."),
    if any: a short line with no end punctuation, between sentences (a run of short lines is a
    list, never a heading)."""
    at = passage_text.find(text[:60])
    if at <= 0:
        return None
    lines = [line.strip() for line in passage_text[:at].split("\n")]
    lines = [line for line in lines[:-1] if line]  # the last piece is the start of text's own line
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        short = len(line.split()) <= 7 and _HEADING_LINE.match(line) and not line.endswith((".", ":", "?", "!", ";"))
        if not short:
            continue
        after = lines[i + 1] if i + 1 < len(lines) else text
        before = lines[i - 1] if i else "."
        if after.endswith((".", "!", "?", ":")) and before.endswith((".", "!", "?", ":")):
            return line
        return None  # a list item, not a heading: nothing above it is this sentence's heading
    return None


_REFERS_BACK = _cue(r"^\s*(they|them|these|it|such (drugs|medicines))\b")


def aboutness(text: str, subject: AgentFrame, document: DocumentRecord | None = None,
              passage_text: str | None = None, section: str | None = None) -> Aboutness:
    """Whether ``text`` is about ``subject`` (see the module docstring). A class named inside a
    narrower class the agent is not in ("tricyclic antidepressant drugs" for sertraline) does
    not count. A sentence under a heading that names the subject ("IV Alteplase — Time
    Windows") is about it as a page's sentences are."""
    names = tuple(subject.names)
    if passage_text:
        names += local_abbreviations(passage_text, names)
    if names_any(text, names) and not counter_ion_only(text, subject):
        return Aboutness(True)
    for cls, class_names in subject.classes.items():
        spans = name_spans(text, tuple(class_names))
        if spans and not _qualified(text, spans, subject):
            return Aboutness(True, via_class=cls)
    if document is not None and document_subject(document, subject):
        return Aboutness(True, via_document=True)
    for cls, class_names in subject.classes.items() if document is not None else ():
        # A consumer page on its class ("What are antidepressants?"): a sentence there that
        # refers back to it ("They ... It may take several weeks for them to help") holds for the
        # drug as the class's, unless it names another drug.
        if document.source_type is SourceType.CONSUMER_HEALTH and _REFERS_BACK.match(text) \
                and names_any(document.title, tuple(class_names)) and not names_other_agent(text, [subject]):
            return Aboutness(True, via_class=cls)
    if section and names_any(section, names):
        return Aboutness(True, via_document=True)
    heading = inline_heading(passage_text, text) if passage_text else None
    if heading and names_any(heading, names):
        # a reference page's own sub-heading inside the passage ("Pneumococcal Pneumonia Vaccine")
        return Aboutness(True, via_document=True)
    for cls, class_names in subject.classes.items() if section else ():
        # "Oral Bisphosphonate Administration": its instructions hold for alendronate too.
        spans = name_spans(section, tuple(class_names))
        # ... but not a sentence there on other drugs or classes ("Do not combine ACE inhibitor
        # + ARB" under "Antihypertensive medications" says nothing of amlodipine)
        if spans and not _qualified(section, spans, subject) and not _names_other_class(text, subject):
            return Aboutness(True, via_class=cls)
    return Aboutness(False)


def _other_class_names(subject: AgentFrame) -> tuple[str, ...]:
    """The names of every drug class the subject neither belongs to nor is."""
    return tuple(n for cls, names in all_classes().items() if cls not in subject.classes and cls != subject.name
                 for n in names)


def _qualified(text: str, spans: list[tuple[int, int]], subject: AgentFrame) -> bool:
    """Every mention of the class lies inside the name of another class the agent is not in."""
    narrower = name_spans(text, _other_class_names(subject))
    return all(any(a < end and start < b for a, b in narrower) for start, end in spans)


_CO_MEDICATION = _cue(r"\bconcomitant\w*|\bco-?administ\w*|\bin patients (taking|receiving|treated with)\b"
                      # "in clinical trials of another TNF blocker": not the drug asked about
                      r"|\b(another|other) (TNF[- ]blockers?|drugs? in (this|the same) class|statins?|\w+ (inhibitors?|blockers?|antagonists?))\b")


def _names_other_class(text: str, subject: AgentFrame) -> bool:
    """The sentence names a drug class the subject is not in ("ACE inhibitor + ARB" for
    amlodipine)."""
    return bool(name_spans(text, _other_class_names(subject)))


def names_other_agent(text: str, agents: list[AgentFrame]) -> bool:
    """The sentence names a drug or drug class other than ``agents`` and their classes: its
    statement holds with that co-medication ("with clarithromycin: do not exceed 20 mg")."""
    own = {n for a in agents for n in [*a.names, *(c for names in a.classes.values() for c in names)]}
    others = tuple(n for n in known_agents() if n not in own)
    lowered = {n.lower() for n in own}
    for match in _CO_MEDICATION.finditer(text):
        # "in patients treated with LIPITOR" is the drug itself, not a co-medication
        following = " ".join(_tokens(text[match.end():match.end() + 60])[:4])
        if not (match.group(0).lower().startswith("in patients")
                and any(following.startswith(n) for n in lowered)):
            return True
    own_spans = name_spans(text, tuple(own))
    return any(not any(a < end and start < b for a, b in own_spans)
               for start, end in name_spans(text, others))


def states_course(text: str) -> bool:
    """How long a condition lasts ("most strains heal in 2 to 6 weeks"), not how long a treatment
    in a trial was given ("2 times per week for 24 weeks")."""
    return bool(_COURSE.search(text) and _SPAN.search(text))


def states_frequency(text: str) -> bool:
    return bool(_FREQUENCY.search(text))


def states_item(text: str, item: AskedFor, subject: AgentFrame | None = None) -> bool:
    """The sentence states the kind of thing the question asks for."""
    if item in (AskedFor.DOSE, AskedFor.MAXIMUM_DOSE):
        dose = bool(_DOSE.search(text))
        return dose and (item is AskedFor.DOSE or bool(_CAP.search(text)))
    if item is AskedFor.DEFINITION:
        if subject is None:
            return bool(_DEFINITION.search(text))
        # The definition follows the name closely: "Meningitis is inflammation of ...".
        words = text.split()
        for start, end in name_spans(text, tuple(subject.names)):
            if start <= 3 and _DEFINITION.search(" ".join(words[max(0, end - 1):end + 6])):
                return True
            if subject.kind in ("drug", "supplement") and _MEMBER_OF.search(" ".join(words[max(0, start - 12):start])):
                return True
        return False
    if item is AskedFor.GENERAL:
        return True
    if item is AskedFor.INDICATION:
        # "who should" is answered by a recommendation that names whom: an age, a risk, a group.
        return bool(_ITEM_CUES[item].search(text) and _CRITERION.search(text))
    if item in (AskedFor.FIRST_LINE, AskedFor.TREATMENT):
        # ... and "what is first-line" by one that names a treatment, not "shared decision-making".
        return bool(_ITEM_CUES[item].search(text) and (
            _TREATMENT.search(text) or name_spans(text, known_agents())))
    return bool(_ITEM_CUES[item].search(text))


def item_span(text: str, item: AskedFor) -> str | None:
    """The words of ``text`` that state the item, for a headline: the capped dose, the
    threshold, the cue phrase. Verbatim, or None."""
    if item is AskedFor.MAXIMUM_DOSE:
        cap = _CAP.search(text)
        if cap:
            after = _DOSE.search(text, cap.start())
            if after and after.start() - cap.end() <= 40:
                return text[cap.start():after.end()].strip()
    if item in (AskedFor.DOSE, AskedFor.MAXIMUM_DOSE):
        doses = [m.group(0).strip() for m in _DOSE.finditer(text)]
        return ", ".join(dict.fromkeys(doses[:3])) or None
    if item is AskedFor.THRESHOLD:
        match = _ITEM_CUES[item].search(text)
        if match:
            end = re.search(r"[;,.]|\bor\b|$", text[match.end():])
            return text[match.start():match.end() + (end.start() if end else 0)].strip()[:60]
    if item in _ITEM_CUES:
        match = _ITEM_CUES[item].search(text)
        return match.group(0).strip() if match else None
    return None


def direction(text: str) -> int:
    """+1 when the sentence reports a benefit, -1 when it reports none, 0 when neither."""
    negative = bool(_NEGATIVE.search(text))
    if negative:
        return -1
    return 1 if _POSITIVE.search(text) else 0
