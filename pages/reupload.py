"""Upload documents (public, no sign-in): the page an applicant's emailed link opens
(`/?reupload=TOKEN`), for re-uploading documents or a UBO's new KYC flow. The router serves it
alone, without the app's navigation; `core.intake.reupload` checks the token and the files."""
from ui.context import database, through_router
from ui.reupload_form import reupload_page

through_router()
reupload_page(database())
