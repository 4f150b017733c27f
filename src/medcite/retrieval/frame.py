"""The question frame: what the answer must address.

``frame_for`` reads an analysed question into a ``QuestionFrame``: the agents (with the forms
asked about and the classes they belong to), the conditions, the population (age group and age,
pregnancy, breastfeeding, kidney function with eGFR or CrCl, liver impairment), the asked-for
item (a dose, a maximum dose, an interaction, a threshold ...), the numbers it states, and
whether several agents are alternatives ("zyrtec or claritin") or taken together. Evidence
selection, the verdict and verification all read the frame.
"""

from __future__ import annotations

import re

from medcite.models import AgentFrame, AskedFor, AskedNumber, Correction, Population, QuestionFrame
from medcite.vocab import Mention
from medcite.vocab.classes import class_members, classes_of
from medcite.vocab.salts import counter_ions

AGENT_KINDS = ("drug", "supplement")


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# What stopping does ("problems when stopping metformin?", "side effects after stopping
# prednisone"): effects asked about, not a change the reader means to make.
STOPPING_EFFECTS = _cue(r"\b(problems?|effects?|symptoms?|withdrawal|reactions?|happens?|happen|issues?|dangers?|risks?|harm)\b[^?.]{0,25}"
                        r"\b(when|after|of|from|if|on|in)\b[^?.]{0,12}\b(stopping|stopped|stop|quitting|coming off|discontinu\w+)\b")

# One drug with everything else: "can mucinex be used with other OTC or prescription medications?"
_WITH_OTHER_MEDICINES_PATTERN = (r"\b(with|and|alongside|along with)\s+(any |my |other |any other |my other |another )+"
                                 r"((otc|over-the-counter|\(otc\)|prescription|prescribed|or|cold|pain)\s+)*"
                                 r"(medications?|medicines?|drugs?|meds|pills|supplements)\b"
                                 # "what medication not to take with lithium", "which foods to avoid on warfarin"
                                 r"|\b(what|which|any) (medications?|medicines?|drugs?|meds|pills|supplements?)\b[^?.]{0,30}"
                                 r"\b(with|while on|while taking|alongside)\b")

# Asked-for cues, tried in this order: the more specific item wins ("maximum dose" before "dose").
_ASKED: tuple[tuple[AskedFor, re.Pattern[str]], ...] = (
    # What it costs ("how much are ten mg pills worth"): no dose, and nothing medcite indexes.
    (AskedFor.GENERAL, _cue(r"\b(cost|costs|price|prices|priced|worth|expensive|cheap|insurance|coupon)\b")),
    # What a treatment does to the reader's looks ("what does fluorouracil make your face look
    # like?"): an effect, not the product's appearance
    (AskedFor.ADVERSE_EFFECTS, _cue(r"\bmakes? (you|your|my|me|his|her)\b[^?.]{0,20}\blooks?\b")),
    # What a product looks like, holds or is kept in ("what color is 30mg prednisone"): its
    # strength is no dose asked for.
    (AskedFor.APPEARANCE, _cue(r"\bwhat colou?rs?\b|\b(looks?|look) like\b|\bimprint\w*|\bwhat shape\b"
                               r"|\bwhat size\b|\bsize (of )?(the |a |my )?(pills?|tablets?|capsules?)\b"
                               r"|\b(pills?|tablets?|capsules?) (size|colou?r|shape)\b|\bmarkings?\b"
                               r"|\bidentify (a |this |my |the )?(pill|tablet|capsule)\b")),
    (AskedFor.INGREDIENTS, _cue(r"\b(inactive |active )?ingredients?\b|\bwhat'?s in\b|\bwhat is in (it|this|the|\w+)\b"
                                r"|\bwhat (does|do) (it|this|they|\w+) contain\b"
                                r"|\bwhat (meds|medicines?|medications?|drugs?|chemicals?) (is|are) in\b"
                                r"|\bcontains? [^?.]{2,40} in (it|them|this)\b|\b(is|are) (there )?(any )?\w+ (a )?part of\b"
                                r"|\b(does|do) (it|this|they|\w+) (contain|have) (any )?\w+ in (it|them)\b"
                                r"|\b(does|do) (it|this|they|\w+) (contain|have) (any )?(gluten|lactose|alcohol|sugar"
                                r"|sulfa|sulfites?|dyes?|gelatin|latex|aspirin|caffeine|acetaminophen)\b"
                                r"|\bmade (of|from)\b|\bexcipients?\b")),
    # The strengths a product comes in ("what mg does norco come in", "how many milligrams in
    # tramadol"): what is sold, not a dose to take.
    (AskedFor.STRENGTH, _cue(r"\bwhat (are the )?(dosage |dose )?strengths?\b|\bdosage strengths?\b"
                             r"|\b(strengths?|mg|mgs|milligrams?|doses?)\b[^?.]{0,30}\b(comes?|available|supplied|sold) in\b"
                             r"|\b(comes?|available|sold) in\b[^?.]{0,20}\b(strengths?|mg|mgs|milligrams?)\b"
                             r"|\bhow much \w+ (is )?in (a |an |one |each |the |my )?\w+"
                             r"|\bhow many (mg|mgs|milligrams|mcg|micrograms) (are |is )?(there )?in (a |an |one |each |the |my |every )?"
                             r"(?!(a |the )?(day|week|dose|overdose)\b)\w+")),
    (AskedFor.STORAGE, _cue(r"\b(how|where|should|can|do) (should |do |can |to )?(i |we |you )?(store|keep)\b[^?.]{0,40}"
                            r"(\b(fridge|refrigerat\w*|cold|warm|temperature|car|heat)|\?|$)|\bstorage\b|\bstored\b"
                            r"|\brefrigerat\w*|\bfridge\b|\broom temperature\b|\bdispos(e|ed|es|al|ing)\b|\bexpir\w*"
                            r"|\bshelf[- ]life\b|\bhow long\b[^?.]{0,40}\b(stay|stays|keep|keeps|last|lasts|remain|remains) "
                            r"(good|fresh|effective|potent|usable)\b|\bthrow (it |them |this )?away\b|\bgets? (too )?(hot|cold|frozen)\b")),
    (AskedFor.MISSED_DOSE, _cue(r"\bmiss(ed|ing)? (a |my |the |one |his |her )?(dose|pill|tablet|injection|shot)s?\b"
                               r"|\bforg[eo]t(ten)? (to take |to give )?(my|a|the|his|her|one)\b|\bskipped (a|my) (dose|pill)\b")),
    # "How long does marijuana stay in your system?": not a course of treatment.
    (AskedFor.ELIMINATION, _cue(r"\bhow long\b[^?.]{0,40}\b(stays?|remains?|lasts?|be detected|detectable|show up|be found)\b"
                                r"[^?.]{0,25}\b(system|body|blood|bloodstream|urine|tests?|breast ?milk|hair)\b"
                                r"|\bhow long\b[^?.]{0,20}\bin (my |your |the |his |her |a )?(system|body|blood|bloodstream)\b"
                                r"|\bhalf[- ]life\b|\b(out of|leave|leaves) (my|your|his|her|the) (system|body)\b"
                                r"|\b(show|shows) up (on|in) (a )?(drug |urine )?tests?\b")),
    # "How fast does amlodipine work?", "how long before it takes effect": not whether it works.
    (AskedFor.ONSET, _cue(r"\bhow (fast|quickly|soon|long)\b[^?.]{0,50}\b(to work|work|working|takes? (a)?effect|kicks? in"
                          r"|start\w* (to )?work\w*|take affect|to take effect|notice)\b|\bhow long (before|until|till)\b"
                          r"|\bhow (soon|fast|quickly)\b[^?.]{0,40}\b(a+f+ects?|lowers?|reduces?|helps?|relieves?)\b"
                          r"|\bonset of (action|effect)\b|\bwhen (will|does|do) (it|this|they|\w+) (start|begin) (to )?work")),
    (AskedFor.MAXIMUM_DOSE, _cue(
        r"\b(max(imum|imal)?|highest|upper limit|most|not (to )?exceed|ceiling)\b[^?.]{0,30}"
        r"\b(doses?|dosage|dosing|mg|amount|daily)\b|\bhow much\b[^?.]{0,40}\b(at most|max\w*)\b"
        r"|\b(doses?|dosage)\b[^?.]{0,20}\b(limit|cap|max\w*)\b")),
    (AskedFor.MECHANISM, _cue(r"\bhow (does|do|did)\b[^?.]*\bwork\b|\b(the )?action of\b|\bhow (does|do) (it|\w+) act\b"
                             # "how opioids reduce pain", "how do statins lower cholesterol"
                             r"|^\s*how (do |does )?(\w+ ){1,2}(reduce|reduces|lower|lowers|relieve|relieves|block|blocks|kill|kills)\b|\bmechanism\w*|\bmode of action\b"
                             r"|\bwhy (does|do|is|are)\b[^?.]*\b(cause|interact|work|affect)")),
    (AskedFor.INHERITANCE, _cue(r"\binherit\w*|\bpass (it |this )?(on|down)\b|\bhereditary\b|\bruns? in (the |my )?famil\w*"
                               r"|\b(chances?|risk|odds)\b[^?.]{0,40}\b(child|children|kids|baby|son|daughter|get it)\b")),
    (AskedFor.CONTRAINDICATION, _cue(
        r"\bcontraindicat\w*|\bshould(n'?t| not)\b[^?.]{0,30}\b(take|use|be given|be used|get)\b"
        r"|\bwho (should|must) not\b|\b(safe|ok|okay|allowed)\b[^?.]{0,30}\b(pregnan\w*|breast-?\s?feed\w*"
        r"|nursing|lactat\w*|kidney|renal|dialysis|ckd|liver|hepatic|child\w*|infant\w*|bab(y|ies)|elderly|egfr|crcl)"
        r"|\b(pregnan\w*|breast-?\s?feed\w*)\b[^?.]{0,40}\b(safe|ok|okay|take|use)\b"
        r"|\b(take|taken|use|used|have|give|given|taking|using)\b[^?.]{0,40}\b(while|during|when|if|in)\b[^?.]{0,20}"
        r"\b(pregnan\w*|breast-?\s?feed\w*|nursing|lactat\w*)"
        # "would it affect a baby if I got pregnant?", "can it harm my unborn child?"
        r"|\b(affect|harm|hurt|damage)\w*\b[^?.]{0,20}\b(the |a |my )?(bab(y|ies)|fetus|foetus|unborn)")),
    # "Which adults should use a statin?", "Who should be screened for hepatitis C?"
    (AskedFor.INDICATION, _cue(
        r"\bwho (should|needs?|qualif\w*|is eligible|are eligible|is a candidate|benefits? (most )?from)\b"
        r"|\bwhich (patients|adults|people|persons|women|men|children|individuals|groups?)\b[^?.]{0,40}"
        r"\b(should|need|qualify|are eligible|benefit)\b|\b(candidates?|eligib\w*) for\b"
        r"|\bindications? for\b|\bwho is (it )?(recommended|indicated) for\b"
        r"|\bhow often should\b[^?.]{0,40}\b(screen\w*|test\w*|check\w*|examin\w*|measur\w*)"
        r"|\bshould\b[^?.]{0,40}\bbe (screened|tested|vaccinated|immuni[sz]ed)\b"
        r"|^\s*(is|are)\b[^?.]{0,40}\b(recommended|advised|indicated) (for|in)\b")),
    (AskedFor.THRESHOLD, _cue(
        r"\bthreshold\b|\bcut-?offs?\b|\bat what (level|value|point|risk|score|egfr|a1c|age)\b"
        r"|\b(falls?|drops?|rises?|goes) (below|under|above|over)\b|\bbelow \d|\babove \d"
        r"|\btarget\b|\bgoal (bp|blood pressure|a1c|ldl)\b|\bhow many (hours|minutes) (after|from|since)\b|\btime window\b|\bwhen (should|to)\b[^?.]{0,30}\b(start|stop|begin|initiate|screen)\w*")),
    # "How long can you be on clopidogrel and aspirin combined?": how long, not whether together
    (AskedFor.DURATION, _cue(r"\bhow long (can|should|do|does|must|will) (you|i|we|he|she|they|one|patients?|people) "
                             r"(be|stay|remain|keep taking|continue)( on)?\b")),
    (AskedFor.INTERACTION, _cue(_WITH_OTHER_MEDICINES_PATTERN + r"|\binteract\w*|\binter\w{0,3}ac?tions?\b"
                               r"|\bdrug[- ](to[- ])?drug\b|\bcombin\w*|\btogether\b|\bmix\w*\b|\bat the same time\b"
                               r"|\balong with\b|\bconcomitant\w*|\bco-?administ\w*"
                               # two agents: "is it safe to take naproxen with prednisone?"
                               r"|\b(safe|ok|okay|fine|alright|dangerous)\b[^?.]{0,15}\bto (take|use|give|have)\b[^?.]{0,40}\b(with|while|and)\b")),
    (AskedFor.COMPARISON, _cue(r"\b(vs\.?|versus|compared?|comparison|comparing|better than|worse than|same as|similar to"
                              r"|(safer|stronger|weaker|gentler|faster|cheaper) than"
                              # "more than once", "more than 2 weeks": a count, not a comparison
                              r"|(more|less) (\w+ )?than(?! (once|twice|one|two|three|a |an |a few|\d|usual|normal|recommended|prescribed))"
                              r"|difference between|differ from|which is (better|safer|best)"
                              r"|what'?s (the )?(different|difference)|what is (the )?(different|difference))\b")),
    # What a drug is for ("qvar 40mg what is it for?"): what it treats, before its strength reads
    # as a dose.
    (AskedFor.TREATMENT, _cue(r"\bwhat (is|are) (it|they|this|that) (used |prescribed |given )?for\b"
                              r"|\bwhat'?s good for\b|\bwhat is good for\b|\bwhat (helps|works) (for|with)\b|\banything good for\b"
                              r"|\bwhat (is|are) (\w+ ){1,3}(used|prescribed|given|taken) for\b|\bwhat does (it|this|\w+) treat\b"
                              r"|\bwhy (is |are )?(\w+ ){1,3}(prescribed|used|given|taken)\b"
                              # "What about diflucan for a yeast infection?"
                              r"|^\s*(what|how) about (\w+ ){1,3}for\b"
                              r"|\bwhy (do|would|should|did) (i|you|he|she|they|people) (take|use|need)\b")),
    (AskedFor.DOSE, _cue(r"\b(doses?|dosage|dosing|how much(?! (weight|hair|bleeding|pain|sleep|time|longer|sooner|more|less|better|worse))|how many (mg|milligrams|pills|tablets|capsules)"
                        r"|milligrams?|mgs|titrat\w*|how many times|how often)\b|\b\d+(\.\d+)? ?(mg|mcg|µg|iu|ml)\b"
                        # how it is taken: "how should I take it?", "is Saxenda a daily injection?"
                        r"|\bhow (should |do |to |can |would |must |am )?(i |we |you |u |he |she |they )?(supposed to )?(take|use|inject|give|administer|apply)\b"
                        r"|\bhow (is|are) (it |they |this |\w+ )?(administered|given|injected|applied)\b"
                        r"|\bhow (big|large|much)\b[^?.]{0,20}\bamount\b|\b(daily|usual) amount\b"
                        r"|\bhow many\b[^?.]{0,30}\b(a ?day|per day|daily|at once|at a time|in 24 hours)\b"
                        r"|\b(daily|weekly|monthly|once a day|twice a day) (injections?|shots?|pills?|tablets?|doses?)\b"
                        r"|\b(two|2|three|3) (pills|tablets|capsules) (at once|together|at the same time)\b|\bat separate times\b")),
    (AskedFor.DURATION, _cue(r"\bhow long (should|do|does|will|can|to|is|are|must)\b|\bfor how long\b"
                            r"|\bduration\b|\bhow many (days|weeks|months|years)\b")),
    (AskedFor.TIMING, _cue(r"\bwhen (should|do|to|can|is the best time)\b|\bwhat time\b|\bbedtime\b"
                          r"|\b(the )?(best|right|ideal|good) time (of (the )?day )?(to|for)\b"
                          r"|\bwith(out)? or with(out)? (food|meals?|eating)\b|\bwithout (food|meals?|eating)\b"
                          r"|\bmorning or (night|evening)\b|\b(before|after|with) (food|meals?|eating|breakfast)\b"
                          r"|\bempty stomach\b|\bhow soon\b")),
    (AskedFor.FIRST_LINE, _cue(r"\bfirst[- ]line\b|\b\w+ of choice\b|\bpreferred\b"
                              r"|\binitial (treatment|therapy|drug)\b|\bbest (drug|medication|medicine|treatment|antibiotic)\b"
                              r"|\bwhat (drug|medication|medicine|antibiotic|treatment)s?\b[^?.]{0,30}\b(for|to treat|should|is used)\b"
                              r"|\bhow (is|are|do you|to|should|can)\b[^?.]{0,50}\b(treat|manag)\w*\b|\btreatments? for\b"
                              # "What statin intensity is recommended for ...?": the recommended choice
                              r"|\b(what|which)\b[^?.]{0,40}\b(is|are) (recommended|advised|preferred)\b")),
    # What treats it, asked as a patient asks: "anything I can take for the congestion?", "any
    # medication you can prescribe to reduce my sweating" (any treatment, not only a first-line one).
    (AskedFor.TREATMENT, _cue(r"\b(any|some)(thing| kind of \w+| \w+)? (i|we|you|she|he|they) (can|could|should) (do|take|use|try|give|prescribe)\b[^?.]{0,40}\b(for|to|about)\b"
                             r"|\bwhat (can|could|should) (i|we|you|she|he|they) (do|take|use|try|give)\b[^?.]{0,20}\b(for|to|about)\b"
                             r"|\bhow (can|do|could) (i|we|you) (get rid of|relieve|stop|ease|treat)\b"
                             r"|\bwhat (would|will|should|can|could|do|does) (i|you|he|she|they|we|one|doctors) (be )?(prescribed|given|prescribe)\b"
                             # "is there anything that can be prescribed to treat hemorrhoids?"
                             r"|\b(anything|something|any (medications?|medicines?|drugs?|treatments?))\b[^?.]{0,30}"
                             r"\b(be )?(prescribed|given|used|taken|done)\b[^?.]{0,10}\b(to treat|to help|to relieve|for)\b")),
    (AskedFor.CAUSE, _cue(r"\bwhat causes\b|\bcauses? of\b|\bwhy do(es)? (people|someone|i|you|children|kids) (get|develop|have)\b"
                         r"|\bhow do(es)? (you|people|someone|one|i) (get|catch)\b|\bhow is\b[^?.]{0,40}\b(caught|spread|transmitted)\b")),
    (AskedFor.ADVERSE_EFFECTS, _cue(STOPPING_EFFECTS.pattern + r"|\bside[- ]?[ae]ffects?\b|\badverse\b|\b(can|does|do|could|will)\b[^?.]{0,40}\bcause\b"
                                   r"|\brisks?\b|\b(safe|safety|unsafe|dangerous|harm\w*|toxic\w*|warnings?)\b"
                                   r"|\b(effect|affect)s? on\b|\bcontribut\w* to\b|\bweight gain\b"
                                   r"|\bleads? to\b|\bnegative (health )?(effects?|outcomes?|consequences?)\b"
                                   r"|\baddictive\b|\baddiction\b|\bhabit[- ]forming\b"
                                   # "what happens when you take lansoprazole long term"
                                   r"|\b(take|taking|use|using|on) (\w+ ){1,3}long[- ]term\b|\blong[- ]term (use|effects?|consequences?|risks?)\b")),
    (AskedFor.EFFICACY, _cue(r"\beffective\w*|\befficacy\b|\bworks? for\b|\bdoes\b[^?.]*\bwork\b|\bhelp(s|ful)?\b(?! (our|your|the|my|his|her) bod(y|ies))"
                            # "are there antibiotics for colds?" (a medicine for it, unnamed, is a treatment question)
                            r"|^\s*(are|is) there (?>(an? |any )?)(?!(medicines?|medications?|drugs?|pills?|treatments?|cures?"
                            r"|remed\w+|creams?|ointments?|something|anything|otc|over)\b)(\w+ ){1,2}(for|to treat)\b"
                            r"|\bimprov\w*|\bbenefits?\b|\bbeneficial\b|\breduce\w*|\bprevent\w*|\bsupport\w*\b")),
    # "some kind of oral med that was available for foot fungus": a medicine for it, asked
    # plainly (after the harms and effects a question may ask of such a medicine)
    (AskedFor.TREATMENT, _cue(r"\b(med|meds|medication|medications|medicine|medicines|drug|drugs|pills?|creams?|remed(y|ies))\b"
                              r"[^?.]{0,30}\b(available|used|good|prescribed|out there)?\s?for\b")),
    (AskedFor.SYMPTOMS, _cue(r"\b(symptoms?|signs?) (of|for)\b|\bwhat (are|is) the (first |early |warning |common )?(symptoms?|signs?)\b"
                            r"|\bhow (do|can|would) (i|you|we) (know|tell) if\b|\bwhat does\b[^?]{0,40}\bfeel like\b")),
    (AskedFor.DEFINITION, _cue(r"^\s*(what|who)('?s| (exactly )?(is|are)) (a |an |the )?[^?]{2,60}\??\s*$|\bwhat does\b[^?]*\bmean\b"
                              # what it is for the body: "why is vitamin A important?", "what does vitamin D3 do"
                              r"|\bwhy (is|are) [^?.]{2,40} (important|needed|necessary|essential)\b"
                              r"|^\s*what (does|do) [^?.]{2,40} do\b(?! to (my|your|the|his|her|a)\b)"
                              r"|\bhow (does|do) (\w+ ){1,2}help (our|your|the|my|his|her) bod(y|ies)\b"
                              r"|\btell me (more )?about\b|\bwhat (type|kind|class|sort) of (a )?(drug|medication|medicine|substance) is\b"
                              r"|\bhow is \w+ classified\b|\bwhat (drug )?class (is|does)\b"
                              r"|\bdefin\w*|\bmeaning of\b")),
)

# "baby powder", "baby aspirin" name products, not a patient
_INFANT = _cue(r"\b(infants?|bab(y|ies)(?! (powder|oil|shampoo|aspirin|wipes|lotion|food|teeth))|newborns?|neonat\w*"
               r"|\d+[- ]?(month|week|day)s?[- ]?old)\b")
_CHILD = _cue(r"\b(child|children|kids?|toddlers?|p(a)?ediatric\w*|my (son|daughter|grandson|granddaughter)"
              r" is \d|school-?age\w*|boy|girl)\b")
_ADOLESCENT = _cue(r"\b(adolescents?|teen\w*|teenagers?)\b")
_OLDER = _cue(r"\b(elderly|older (adults?|people|patients?|persons?)|geriatric|seniors?|aged (6[5-9]|[7-9]\d))\b")
# An age is "3-year-old", "6 months old", "a 15 year boy" or "aged 70"; a "10-year risk" is not.
_AGE = _cue(r"\b(\d{1,3}(?:\.\d)?)[- ]?(year|yr|month|week|day)s?(?:[- ]old\b|[- ](?=(?:boy|girl|child|man|woman|"
            r"patient|baby|infant|son|daughter|toddler)\b))()|\baged? (\d{1,3})\b")
_UNBORN = _cue(r"\b(affect|harm|hurt|damage|cause \w+ (in|to))\w*\b[^?.]{0,20}\b(the |a |my )?bab(y|ies)\b")
_PREGNANT = _cue(r"\b(pregnan\w*|expecting a baby|trimester|gestation\w*)\b")
_LACTATION = _cue(r"\b(breast-?\s?feed\w*|breast-?fed|nursing (mother|my baby|a baby)|lactat\w*|breast ?milk)\b")
_RENAL = _cue(r"\b(kidney (disease|failure|impairment|problems?|function)|renal (impairment|failure|insufficiency|"
              r"disease|function)|ckd|dialysis|egfr|crcl|creatinine clearance)\b")
_DIALYSIS = _cue(r"\b(dialysis|haemodialysis|hemodialysis|end-stage (renal|kidney) disease|esrd|eskd|kidney failure)\b")
_EGFR = _cue(r"\begfr\b[^0-9]{0,25}(\d{1,3}(?:\.\d)?)")
_CRCL = _cue(r"\b(crcl|creatinine clearance)\b[^0-9]{0,25}(\d{1,3}(?:\.\d)?)")
# A body weight ("a 20 kg child", "weighs 44 lbs"), not a dose per kilogram ("10 mg/kg").
_WEIGHT = _cue(r"(?<![/\w.])(\d{1,3}(?:\.\d+)?)\s?(kg|kilograms?|lbs?|pounds)\b(?!\s?/)")
_ANIMALS = r"(dog|cat|puppy|kitten|horse|rabbit|ferret|guinea pig|hamster|parrot|cockatiel)"
_SPECIES = _cue(r"\b(?:my|our|a|an|the)\s+(?:\d+(?:\.\d+)?[- ]?(?:kg|lbs?|pounds?)\s+|old\s+|young\s+|little\s+)?"
                + _ANIMALS + r"s?\b(?!\s+(?:bite|scratch|allerg|hair|dander|owner))|\b(veterinary|canine|feline)\b"
                r"|\b(?:for|in|to)\s+(dog|cat|puppie|kitten|horse|rabbit|pet)s\b")
_HEPATIC = _cue(r"\b(liver (disease|failure|impairment|problems?|damage)|hepatic (impairment|failure|disease)|cirrhosis)\b")
_NUMBER = _cue(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(%|percent|mg/dl|mmol/l|mg/kg|mg|mcg|µg|g\b|ml/min(?:/1\.73 ?m2)?|"
               r"mmhg|iu|units?|years?|kg|pills|tablets|capsules)?")
_ALTERNATIVE = _cue(r"\bor\b")
_WHICH = _cue(r"\b(which|better|best|prefer\w*|choose|instead)\b")


# What a drug is likened to, just before a class's name ("is Accutane like an antibiotic?").
_LIKENED = _cue(r"\b(like|a kind of|a type of|a form of|the same as|similar to|considered)\s+(an?\s+)?$")
_FOR_EXAMPLE = _cue(r"^\s*(like|such as|e\.g\.,?|for example|including)\s+")

# Whether a drug belongs to a class, asked just before the class's name ("is pramoxine an ").
_CLASS_ASKED = _cue(r"\b(is|are|isn'?t|aren'?t)\s+(it|this|that|they|\w+(?:[ -]\w+)?)\s+(an?|one of the|part of the|in the|classed as an?)\s+$")
# A reply's opening ("No, what is ...", "Ok so is it ...") is not the question.
_REPLY_OPENING = _cue(r"^\s*(?:(?:no|ok|okay|so|well|yes|yeah|thanks|thank you|hi|hello|and|but|um|hmm|right|sorry"
                      r"|(?:one |a )?(?:last|quick|final|other|another|follow-up) question|one more thing)\b[\s,.!:]*)+")

# Interaction words that let a question naming one recognised agent ask about a pair: the word
# itself, the reader's other medicines, or a second (unrecognised) drug "at the same time".
_ONE_AGENT_INTERACTION = _cue(r"\binteract|" + _WITH_OTHER_MEDICINES_PATTERN
                              + r"|\b(and|with) \w+ (at the same time|together)\b")


def asked_for(question: str, agents: int) -> AskedFor:
    """The item the question asks for (see ``AskedFor``)."""
    question = _REPLY_OPENING.sub("", question)
    for item, pattern in _ASKED:
        if item is AskedFor.INTERACTION and agents < 2 and not _ONE_AGENT_INTERACTION.search(question):
            continue
        if pattern.search(question):
            return item
    return AskedFor.INTERACTION if agents >= 2 else AskedFor.GENERAL


def population(question: str) -> Population:
    """Who the question is about, from its words and numbers."""
    found = Population()
    age = None
    for match in _AGE.finditer(question):
        value, unit = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), "year")
        number = float(value)
        age = number / 12 if unit.lower().startswith("month") else (
            number / 52 if unit.lower().startswith("week") else (
                number / 365 if unit.lower().startswith("day") else number))
        break
    group = None
    if age is not None and age < 120:
        group = ("infant" if age < 1 else "child" if age < 12 else "adolescent" if age < 18
                 else "older adult" if age >= 65 else "adult")
    elif _INFANT.search(question) and not (_PREGNANT.search(question) and _UNBORN.search(question)):
        group = "infant"  # ("would it affect a baby if I got pregnant?": the baby is unborn)
    elif _CHILD.search(question):
        group = "child"
    elif _ADOLESCENT.search(question):
        group = "adolescent"
    elif _OLDER.search(question):
        group = "older adult"
    egfr = _EGFR.search(question)
    crcl = _CRCL.search(question)
    return found.model_copy(update={
        "age_group": group,
        "age_years": age if group else None,
        "pregnancy": bool(_PREGNANT.search(question)),
        "lactation": bool(_LACTATION.search(question)),
        "egfr": float(egfr.group(1)) if egfr else None,
        "crcl": float(crcl.group(2)) if crcl else None,
        "renal_impairment": bool(_RENAL.search(question)),
        "dialysis": bool(_DIALYSIS.search(question)),
        "hepatic_impairment": bool(_HEPATIC.search(question)),
        "weight_kg": _weight_kg(question),
        "species": _species(question),
    })


def _species(question: str) -> str | None:
    match = _SPECIES.search(question)
    if match is None:
        return None
    word = next(g for g in match.groups() if g).lower()
    return {"veterinary": "animal", "canine": "dog", "feline": "cat", "puppy": "dog", "puppie": "dog",
            "kitten": "cat"}.get(word, word)


_SELF_CHANGE = _cue(
    r"\b(?:should|can|could|may|must|do|shall) (?:i|we)\b[^?.]{0,12}?\b(double|triple|increase|raise|up|stop|quit"
    r"|skip|halve|cut down|cut back|lower|reduce|come off|give up|take (?:an )?extra|take two)\b[^?.]{0,25}\b(?:my|our)\b"
    r"|\bis it (?:ok|okay|safe|fine|alright|all right) (?:for me |for us )?to (double|stop|skip|halve|quit|take (?:an )?extra)\b[^?.]{0,25}\bmy\b"
    # "wean off tegretol?", "what should I do when stopping oxycodone"
    r"|\b(wean(?:ing)? off|taper(?:ing)? off|coming off|when stopping|stopping taking)\b")
_CHANGE_WORDS = {"taper": "stop", "wean": "stop", "get off": "stop", "wean down": "stop", "weaning down": "stop",
                 "taper down": "stop", "tapering down": "stop", "wean off": "stop", "weaning off": "stop",
                 "taper off": "stop", "tapering off": "stop",
                 "coming off": "stop", "when stopping": "stop", "stopping taking": "stop",
                 "up": "increase", "raise": "increase", "cut down": "reduce", "cut back": "reduce",
                 "lower": "reduce", "come off": "stop", "quit": "stop", "give up": "stop",
                 "take extra": "take extra", "take an extra": "take extra", "take two": "double"}


# A score's name has a capital or a digit in it (CURB-65, NIHSS, PHQ-9, CHA2DS2-VASc, GCS).
_SCORE = re.compile(r"\b([A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)\s+(?:score\s+)?(?:of\s+|is\s+|=\s*|was\s+)?(\d{1,3}(?:\.\d)?)\b(?!\s*(?:%|mg|kg|years?|months?|mL))")


_NOT_SCORES = frozenset({"egfr", "crcl", "covid", "sars", "hiv", "hpv", "cyp", "ckd", "copd", "bmi"})


def scores(question: str) -> dict[str, float]:
    """The clinical scores the question states, by lower-case name."""
    found = {}
    for match in _SCORE.finditer(question):
        name = match.group(1)
        if (any(ch.isdigit() for ch in name) or sum(ch.isupper() for ch in name) >= 2) \
                and name.lower() not in _NOT_SCORES:
            found[name.lower()] = float(match.group(2))
    return found


# "How should I stop taking heparin?", "how to reduce bisoprolol", "is there a wean down period":
# how to make the change, asked of a drug the question names.
_HOW_TO_CHANGE = _cue(r"\bhow (?:should|do|can|could|would|to|does one|is it best to)\s+(?:i\s+|we\s+|you\s+|u\s+|one\s+)?"
                      r"(?:safely\s+|best\s+|slowly\s+)?(stop|reduce|taper|wean|come off|get off|quit|cut down|lower)\b"
                      r"|\b(wean(?:ing)? down|taper(?:ing)? down)\b|\b(stop) (?:it |them |taking it )?(?:immediately|abruptly|suddenly|cold turkey)\b")


def self_change(question: str, agents: int = 1) -> str | None:
    """The change to their own treatment the reader asks about ("Should I double my ...?")."""
    if STOPPING_EFFECTS.search(question):
        return None
    match = _SELF_CHANGE.search(question) or (_HOW_TO_CHANGE.search(question) if agents else None)
    if match is None:
        return None
    word = next(g for g in match.groups() if g).lower()
    return _CHANGE_WORDS.get(word, word)


def _weight_kg(question: str) -> float | None:
    match = _WEIGHT.search(question)
    if match is None:
        return None
    value = float(match.group(1))
    return round(value if match.group(2).lower().startswith("k") else value / 2.2046, 1)


def numbers(question: str) -> list[AskedNumber]:
    found = []
    for match in _NUMBER.finditer(question):
        unit = (match.group(2) or "").lower() or None
        found.append(AskedNumber(value=float(match.group(1)), unit=unit, text=match.group(0).strip()))
    return found


def subject_frame(mention: Mention, names: list[str]) -> AgentFrame:
    """An agent or condition with every name a sentence may use for it."""
    concept = mention.concept
    salts = counter_ions()
    # A salt name ("sertraline hydrochloride") still names the drug; names made only of salt
    # words do not.
    lowered = [n.lower() for n in [concept.name, mention.surface, *concept.synonyms, *concept.brands,
                                   *concept.forms, *names] if n and n.strip()]
    kept = [n for n in dict.fromkeys(lowered)
            if n == concept.name.lower() or (not set(n.split()) <= salts and len(n) >= 3)]
    # A class asked about ("what antibiotic ...") is named by its members ("amoxicillin").
    kept += [m for m in class_members(concept.name) if m not in kept]
    classes = classes_of(concept.name, *concept.synonyms) if concept.kind == "drug" else {}
    surface = " ".join(mention.surface.lower().split())
    # Only a condition's other name, not a plural or a form of the preferred one ("kidney
    # stone"), nor a drug's brand (a label names its drug by the brand throughout).
    def stems(text: str) -> set[str]:
        return {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", text.lower())}

    asked_as = surface if concept.kind not in AGENT_KINDS and len(surface) >= 4 \
        and not stems(concept.name) & stems(surface) else None
    return AgentFrame(concept_id=concept.id, name=concept.name, kind=concept.kind,
                      form=mention.form, names=kept, classes=classes, asked_as=asked_as)


def frame_for(question: str, mentions: list[Mention], expansions: dict[str, list[str]],
              corrections: list[Correction] | None = None) -> QuestionFrame:
    """The frame of a question whose concepts were recognised as ``mentions``."""
    subjects: dict[str, AgentFrame] = {}
    for mention in mentions:
        if mention.concept.id not in subjects:
            subjects[mention.concept.id] = subject_frame(mention, expansions.get(mention.concept.id, []))
    allergens, only_allergens = _allergens(question, mentions)
    allergies = [subjects[cid] for cid in allergens]
    # "allergic to cephalexin, is Keflex ok?" asks about the allergen itself
    agents = [s for s in subjects.values() if s.kind in AGENT_KINDS and s.concept_id not in only_allergens]
    # "Is Accutane like an antibiotic?": the class it is likened to is no drug taken with it.
    likened = {m.concept.id for m in mentions if m.concept.kind in AGENT_KINDS and class_members(m.concept.name)
               and (_LIKENED.search(question[max(0, m.start - 30):m.start])
                    or _CLASS_ASKED.search(question[max(0, m.start - 40):m.start]))}
    # "antibiotics like keflex": the class is named for its member, no second agent
    examples = {m.concept.id for m in mentions if m.concept.kind in AGENT_KINDS
                and _FOR_EXAMPLE.match(question[m.end:])
                and any(o.start > m.end and o.concept.name in class_members(m.concept.name) for o in mentions)}
    likened |= examples
    classes_asked = []
    if likened and len(agents) > len(likened):
        classes_asked = [a.name for a in agents if a.concept_id in likened - examples]
        agents = [a for a in agents if a.concept_id not in likened]
    # "a sulfa allergy": the allergy is what the reader has, not a condition asked about
    conditions = [s for s in subjects.values() if s.kind not in AGENT_KINDS
                  and not (allergies and s.concept_id == ALLERGY_CONDITION)]
    item = asked_for(question, len(agents))
    if item is AskedFor.ADVERSE_EFFECTS and agents:
        # "amiodarone for afib, what are the side effects?": the condition it is taken for is no
        # effect asked about
        treated = {m.concept.id for m in mentions if m.concept.kind not in AGENT_KINDS
                   and _TAKEN_FOR.search(question[max(0, m.start - 20):m.start])}
        conditions = [c for c in conditions if c.concept_id not in treated]
    if allergies and agents and item in (AskedFor.GENERAL, AskedFor.INTERACTION, AskedFor.ADVERSE_EFFECTS):
        item = AskedFor.CONTRAINDICATION  # "can I take it?" with an allergy asks whether it is safe
    if item is AskedFor.EFFICACY and not agents and conditions:
        item = AskedFor.TREATMENT  # "something to help my heartburn": whether what works, is what helps
    # "Does ibuprofen contain aspirin?", "is ibuprofen part of Tylenol?": each product on its
    # own (what it holds, looks like, is sold as), never two drugs taken together.
    alternatives = len(agents) >= 2 and (_alternatives(question, mentions) or item in PRODUCT_ITEMS)
    if alternatives and item is AskedFor.INTERACTION:
        item = AskedFor.COMPARISON
    return QuestionFrame(
        asked_for=item, agents=agents, conditions=conditions, population=population(question),
        numbers=numbers(question), alternatives=alternatives,
        combination=len(agents) >= 2 and not alternatives and item is not AskedFor.COMPARISON,
        corrections=corrections or [], self_change=self_change(question, len(agents)), scores=scores(question),
        allergies=allergies, course=item is AskedFor.DURATION and bool(_COURSE_ASKED.search(question)),
        frequency=item is AskedFor.DOSE and bool(_FREQUENCY_ASKED.search(question)),
        stopping=item is AskedFor.ADVERSE_EFFECTS and bool(STOPPING_EFFECTS.search(question)),
        classes_asked=classes_asked,
    )


ALLERGY_CONDITION = "condition:allergy"
_TAKEN_FOR = re.compile(r"\b(for|to treat|treating|against)\s+(my |his |her |the |a |an |\W)*$", re.I)
PRODUCT_ITEMS = (AskedFor.APPEARANCE, AskedFor.INGREDIENTS, AskedFor.STRENGTH, AskedFor.STORAGE)
# "How often is a booster needed?": a schedule is the dose asked for.
_FREQUENCY_ASKED = re.compile(r"\bhow often\b|\bhow many times\b|\b(daily|weekly|monthly|yearly)\b|\bevery (day|week|month|year)\b"
                              r"|\bbooster\b|\bat once\b|\bseparate times\b", re.I)
_COURSE_ASKED = re.compile(r"\b(last|lasts|go away|goes away|heal|recover|get better|clear up|resolve|be contagious"
                           r"|be sick|be ill|feel better)\b", re.I)
_ALLERGIC_TO = re.compile(r"\b(?:allergic (?:reaction )?to|allergy to|allergies to|hypersensitiv\w* to|can'?t take|cannot take)"
                          r"\s+(?:the |a |an |any |all )?$", re.I)
_ALLERGY_AFTER = re.compile(r"^\s*(?:drugs? |medicines? |antibiotics? )?(?:allerg\w*|hypersensitivity)\b", re.I)


def _allergens(question: str, mentions: list[Mention]) -> tuple[set[str], set[str]]:
    """Concept ids of the agents the reader says they are allergic to ("allergic to penicillin",
    "a sulfa allergy"), and of those named only so."""
    as_allergy = [(m.concept.id, bool(_ALLERGIC_TO.search(question[:m.start]) or _ALLERGY_AFTER.match(question[m.end:])))
                  for m in mentions if m.concept.kind in AGENT_KINDS]
    allergic = {cid for cid, allergy in as_allergy if allergy}
    return allergic, allergic - {cid for cid, allergy in as_allergy if not allergy}


def inherit(parent: QuestionFrame, child: QuestionFrame, replaced_kinds: set[str]) -> QuestionFrame:
    """A follow-up's frame: the parent's, changed only where the follow-up says something.

    Agents and conditions: the child's added to the parent's (those of a replaced kind go);
    the asked-for item, population facts and numbers: the child's where it states them.
    """
    def merged(own: list[AgentFrame], inherited: list[AgentFrame]) -> list[AgentFrame]:
        ids = {a.concept_id for a in own}
        return [a for a in inherited if a.concept_id not in ids and a.kind not in replaced_kinds] + own

    agents = merged(child.agents, parent.agents)
    pop = parent.population.model_copy(update={
        k: v for k, v in child.population.model_dump().items() if v not in (None, False)})
    item = child.asked_for if child.asked_for is not AskedFor.GENERAL else parent.asked_for
    return child.model_copy(update={
        "agents": agents, "conditions": merged(child.conditions, parent.conditions),
        "population": pop, "asked_for": item, "numbers": child.numbers or parent.numbers,
        "scores": child.scores or parent.scores,
        "combination": len(agents) >= 2 and not child.alternatives and item is not AskedFor.COMPARISON,
    })


def _alternatives(question: str, mentions: list[Mention]) -> bool:
    """Two agents joined by "or" ("zyrtec or claritin"), not by a word of combining."""
    agents = [m for m in mentions if m.concept.kind in AGENT_KINDS and not m.inherited]
    for first, second in zip(agents, agents[1:]):
        between = question[first.end:second.start]
        if _ALTERNATIVE.search(between) and not re.search(r"\b(and|with|plus)\b", between, re.I):
            return True
    return bool(_WHICH.search(question)) and len(agents) >= 2 and not re.search(
        r"\b(together|with|combin\w*|interact\w*)\b", question, re.I)
