import pytest

from medcite.errors import NotFoundError, StoreError
from medcite.models import ReviewStatus
from medcite.review import ArticleRepository, ReviewWorkflow
from medcite.review.articles import normalise_question, slugify
from tests.conftest import sqlite_only
from tests.review.factories import QUESTION, sample_article


def test_save_new_assigns_identity_version_and_submitted_event(articles: ArticleRepository):
    saved = articles.save_new(sample_article())
    assert saved.id and len(saved.id) == 10
    assert saved.slug == "can-magnesium-glycinate-be-used-to-support-mirtazapine-remeron-therapy"
    assert (saved.version, saved.status, saved.thread_id) == (1, ReviewStatus.SUBMITTED, saved.id)
    assert saved.created_at == saved.updated_at is not None
    assert articles.get(saved.id) == saved
    assert articles.get_by_slug(saved.slug) == saved
    [event] = articles.events(saved.id)
    assert (event.actor, event.from_status, event.to_status, event.version) == (
        "system", None, ReviewStatus.SUBMITTED, 1)


def test_slug_clash_gets_a_short_suffix(articles: ArticleRepository):
    first = articles.save_new(sample_article("Sertraline in pregnancy?"))
    second = articles.save_new(sample_article("Sertraline, in pregnancy?"))
    assert first.slug == "sertraline-in-pregnancy"
    assert second.slug.startswith("sertraline-in-pregnancy-") and len(second.slug) == len(first.slug) + 5


def test_an_answer_saved_twice_is_stored_once(articles: ArticleRepository):
    """Two readers asking the same new question at once: the second answer written finds the
    first one stored and returns it."""
    first = articles.save_answer(sample_article("Sertraline in pregnancy?"))
    second = articles.save_answer(sample_article("SERTRALINE  in pregnancy"))
    assert second.id == first.id and len(articles.list()) == 1
    follow_up = articles.save_answer(sample_article("Sertraline in pregnancy?", parent_id=first.id))
    assert follow_up.id != first.id  # the same words in a thread are another question


def test_slugify_folds_accents_and_bounds_length():
    assert slugify("Ménière's disease — betahistine?") == "meniere-s-disease-betahistine"
    assert slugify("???") == "article"
    long = slugify("word " * 60)
    assert len(long) <= 80 and not long.endswith("-")


def test_revision_is_a_new_version_and_earlier_versions_stay(articles: ArticleRepository,
                                                            workflow: ReviewWorkflow, people):
    saved = articles.save_new(sample_article())
    revised = articles.save_revision(
        saved.id, sample_article(statement="Mirtazapine was studied in 2,000 patients."), "ed")
    assert (revised.version, revised.status, revised.slug) == (2, ReviewStatus.SUBMITTED, saved.slug)
    assert revised.created_at == saved.created_at
    assert articles.get(saved.id).version == 2
    assert articles.get(saved.id, 1) == saved
    assert [v.version for v in articles.versions(saved.id)] == [1, 2]
    with pytest.raises(NotFoundError, match="no version 3"):
        articles.get(saved.id, 3)


@sqlite_only
def test_an_approved_version_is_never_rewritten(store, articles: ArticleRepository,
                                                workflow: ReviewWorkflow, people):
    saved = articles.save_new(sample_article())
    reviewer = next(iter(people.values()))
    workflow.move(saved.id, ReviewStatus.UNDER_REVIEW, reviewer)
    workflow.move(saved.id, ReviewStatus.APPROVED, reviewer)
    approved = articles.get(saved.id, 1)
    articles.save_revision(saved.id, sample_article(statement="A different sentence."), "ed")
    # Its text is unchanged; read now, it says that a correction (version 2) is in review.
    assert articles.get(saved.id, 1) == approved.model_copy(update={"correction_pending": 2})
    assert articles.get(saved.id, 1).status is ReviewStatus.APPROVED
    assert articles.get(saved.id).status is ReviewStatus.SUBMITTED
    versions = articles.versions(saved.id)
    assert [(v.version, v.approved) for v in versions] == [(1, True), (2, False)]
    # The database refuses to rewrite or delete any stored version.
    for sql in ("UPDATE article_versions SET json = '{}'", "DELETE FROM article_versions"):
        with pytest.raises(StoreError, match="immutable"):  # translated by the store
            store.write(lambda conn, sql=sql: conn.execute(sql))
    assert articles.get(saved.id, 1).model_dump(exclude={"correction_pending"}) == \
        approved.model_dump(exclude={"correction_pending"})


def test_find_for_question_normalises_and_prefers_approved(articles: ArticleRepository,
                                                          workflow: ReviewWorkflow, people):
    assert articles.find_for_question(QUESTION) is None
    first = articles.save_new(sample_article())
    variant = "  can MAGNESIUM glycinate be used to support\nmirtazapine (Remeron) therapy ?? "
    assert normalise_question(variant) == normalise_question(QUESTION)
    assert articles.find_for_question(variant).id == first.id
    reviewer = next(iter(people.values()))
    workflow.move(first.id, ReviewStatus.UNDER_REVIEW, reviewer)
    workflow.move(first.id, ReviewStatus.APPROVED, reviewer)
    articles.save_revision(first.id, sample_article(statement="Newer text."), "ed")
    # A newer duplicate without approval does not win over the approved article either.
    articles.save_new(sample_article())
    found = articles.find_for_question(QUESTION)
    assert (found.id, found.version, found.status) == (first.id, 1, ReviewStatus.APPROVED)


def test_find_for_question_latest_version_when_nothing_approved(articles: ArticleRepository):
    saved = articles.save_new(sample_article())
    articles.save_revision(saved.id, sample_article(statement="Second text."), "ed")
    assert articles.find_for_question(QUESTION).version == 2


def test_follow_up_joins_the_parent_thread_and_matches_only_there(articles: ArticleRepository):
    parent = articles.save_new(sample_article())
    child = articles.save_new(sample_article("What about with sertraline?", parent_id=parent.id))
    assert (child.thread_id, child.parent_id) == (parent.id, parent.id)
    assert [a.id for a in articles.thread(parent.id)] == [parent.id, child.id]
    assert articles.find_for_question("What about with sertraline?") is None
    assert articles.find_for_question("what about with sertraline",
                                      parent_id=parent.id).id == child.id
    with pytest.raises(NotFoundError):
        articles.save_new(sample_article("And lithium?", parent_id="nosuchid"))


def test_list_library_and_search(articles: ArticleRepository, workflow: ReviewWorkflow, people):
    one = articles.save_new(sample_article("Sertraline and breastfeeding?"))
    two = articles.save_new(sample_article("Lithium levels in older adults?"))
    articles.save_new(sample_article("100% safe dose of paracetamol?"))
    reviewer = next(iter(people.values()))
    workflow.move(two.id, ReviewStatus.UNDER_REVIEW, reviewer)
    assert {a.id for a in articles.list(ReviewStatus.SUBMITTED)} >= {one.id}
    assert [a.id for a in articles.list(ReviewStatus.UNDER_REVIEW)] == [two.id]
    assert [a.id for a in articles.list(search="BREASTFEEDING")] == [one.id]
    # LIKE wildcards in a search are literal text.
    assert [a.question for a in articles.list(search="100%")] == ["100% safe dose of paracetamol?"]
    assert articles.list(search="%") and len(articles.list(search="_")) == 0
    assert len(articles.list(limit=2)) == 2 and len(articles.list(limit=2, offset=2)) == 1
    assert articles.library() == []
    workflow.move(two.id, ReviewStatus.APPROVED, reviewer)
    assert [a.id for a in articles.library("lithium")] == [two.id]


def test_resolve_accepts_id_or_slug(articles: ArticleRepository):
    saved = articles.save_new(sample_article())
    assert articles.resolve(saved.id).id == saved.id
    assert articles.resolve(saved.slug).id == saved.id
    with pytest.raises(NotFoundError):
        articles.resolve("missing")
    with pytest.raises(NotFoundError):
        articles.events("missing")


def test_a_rejected_answer_is_not_reused(articles: ArticleRepository, people):
    reviewer = next(iter(people.values()))
    rejected = articles.save_answer(sample_article())
    workflow = ReviewWorkflow(articles)
    workflow.move(rejected.id, ReviewStatus.UNDER_REVIEW, reviewer)
    workflow.move(rejected.id, ReviewStatus.REJECTED, reviewer, "wrong population")
    assert articles.find_for_question(QUESTION) is None
    fresh = articles.save_answer(sample_article())
    assert fresh.id != rejected.id and fresh.status is ReviewStatus.SUBMITTED
    assert articles.find_for_question(QUESTION).id == fresh.id


def test_a_decision_on_a_version_no_longer_current_is_refused(articles: ArticleRepository,
                                                              people):
    from medcite.errors import StaleVersionError
    from medcite.review import Role

    saved = articles.save_new(sample_article())
    workflow = ReviewWorkflow(articles)
    rita = people[Role.REVIEWER]
    workflow.move(saved.id, ReviewStatus.UNDER_REVIEW, rita, version=1)
    workflow.move(saved.id, ReviewStatus.REJECTED, rita, "no", version=1)
    workflow.revise(saved.id, sample_article(statement="Better."), people[Role.EDITOR],
                    based_on=1)
    with pytest.raises(StaleVersionError, match="now at version 2") as refused:
        workflow.move(saved.id, ReviewStatus.UNDER_REVIEW, rita, version=1)
    assert refused.value.current_version == 2
    with pytest.raises(StaleVersionError):
        workflow.revise(saved.id, sample_article(), people[Role.EDITOR], based_on=1)
    assert [e.version for e in articles.events(saved.id)] == [1, 1, 1, 2]


@pytest.mark.parametrize("variant", [
    "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy\u00a0?",
    "Can magnesium gly\u00adcinate be used to support mirtazapine (Remeron) therapy?",
    "Can magnesium glycinate be used to sup\u200bport mirtazapine (Remeron) therapy?",
    "\ufeffCan magnesium glycinate be used to support mirtazapine (Remeron) therapy?",
    "\uff23an magnesium glycinate be used to support mirtazapine (Remeron) therapy?",
])
def test_invisible_and_compatibility_characters_do_not_make_a_new_question(variant):
    assert normalise_question(variant) == normalise_question(QUESTION)


def test_curly_and_straight_apostrophes_are_one_question():
    assert normalise_question("Can St John\u2019s wort be taken with sertraline?") == \
        normalise_question("Can St John's wort be taken with sertraline?")
