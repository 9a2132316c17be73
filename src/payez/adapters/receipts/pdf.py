"""A tax receipt (reçu fiscal, the fields of Cerfa 11580) as a one-page PDF, with fpdf2.

The PDF's built-in Helvetica covers Latin-1, which holds every French letter; the few other
characters our texts may carry (the euro sign, typographic spaces and dashes) are replaced by
Latin-1 equivalents so no font file needs to ship with the project.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fpdf import FPDF

from payez.domain.tax_receipts import ARTICLE_COMPANY, ARTICLE_PERSON, TaxReceipt

PARIS = ZoneInfo("Europe/Paris")
_REPLACEMENTS = {
    "€": "EUR",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u0153": "oe",
    "\u0152": "OE",
}


def latin1(text: str) -> str:
    for original, replacement in _REPLACEMENTS.items():
        text = text.replace(original, replacement)
    return text.encode("latin-1", "replace").decode("latin-1")


def _euros(cents: int) -> str:
    units, rest = divmod(cents, 100)
    grouped = f"{units:,}".replace(",", " ")
    return f"{grouped},{rest:02d}"


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _box(checked: bool) -> str:
    return "[X]" if checked else "[  ]"


class _Receipt(FPDF):
    def heading(self, text: str) -> None:
        self.set_font("Helvetica", "B", 11)
        self.set_fill_color(230, 230, 230)
        self.cell(0, 7, latin1(text), new_x="LMARGIN", new_y="NEXT", fill=True)
        self.ln(1)

    def line_of(self, label: str, value: str) -> None:
        self.set_font("Helvetica", "B", 9)
        self.cell(55, 5, latin1(label))
        self.set_font("Helvetica", "", 9)
        self.multi_cell(0, 5, latin1(value), new_x="LMARGIN", new_y="NEXT")

    def text_line(self, text: str, style: str = "") -> None:
        self.set_font("Helvetica", style, 9)
        self.multi_cell(0, 5, latin1(text), new_x="LMARGIN", new_y="NEXT")


def render_receipt_pdf(receipt: TaxReceipt) -> bytes:
    """The receipt as PDF bytes; the same receipt always renders the same text."""
    pdf = _Receipt(format="A4")
    pdf.set_creation_date(receipt.issued_at)
    pdf.set_title(latin1(f"Reçu fiscal n° {receipt.reference} - {receipt.association_name}"))
    pdf.set_author("Payez")
    pdf.set_margins(18, 15, 18)
    pdf.add_page()

    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(
        0,
        8,
        latin1("Reçu au titre des dons à certains organismes d'intérêt général"),
        new_x="LMARGIN",
        new_y="NEXT",
        align="C",
    )
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(
        0,
        5,
        latin1("Articles 200, 238 bis et 978 du code général des impôts (Cerfa n° 11580)"),
        new_x="LMARGIN",
        new_y="NEXT",
        align="C",
    )
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(
        0,
        8,
        latin1(f"Numéro d'ordre du reçu : {receipt.reference}"),
        new_x="LMARGIN",
        new_y="NEXT",
        align="R",
    )
    pdf.ln(2)

    pdf.heading("Bénéficiaire des versements")
    pdf.line_of("Nom ou dénomination :", receipt.association_name)
    pdf.line_of("Adresse :", receipt.association_address)
    pdf.line_of("Objet :", receipt.association_object)
    pdf.line_of("SIREN / RNA :", receipt.association_legal_id)
    pdf.line_of("Qualité de l'organisme :", "Association - œuvre ou organisme d'intérêt général")
    pdf.ln(2)

    pdf.heading("Donateur")
    pdf.line_of("Nom et prénoms :", receipt.donor_name)
    pdf.line_of("Adresse :", receipt.donor_address)
    pdf.ln(2)

    pdf.heading("Dons")
    pdf.text_line(
        "Le bénéficiaire reconnaît avoir reçu au titre des dons et versements ouvrant droit à "
        "réduction d'impôt, la somme de :"
    )
    pdf.line_of("Montant en chiffres :", f"{_euros(receipt.amount.cents)} euros")
    pdf.line_of("Somme en toutes lettres :", receipt.amount_in_words)
    dates = ", ".join(_day(d) for d in receipt.donation_dates)
    pdf.line_of(
        "Date(s) des versements :" if len(receipt.donation_dates) > 1 else "Date du versement :",
        f"{dates} (année {receipt.year})",
    )
    pdf.ln(1)
    pdf.text_line(
        "Le bénéficiaire certifie sur l'honneur que les dons et versements qu'il reçoit ouvrent "
        "droit à la réduction d'impôt prévue à l'article :"
    )
    pdf.text_line(
        f"{_box(receipt.tax_article == ARTICLE_PERSON)} 200 du CGI     "
        f"{_box(receipt.tax_article == ARTICLE_COMPANY)} 238 bis du CGI     "
        f"{_box(False)} 978 du CGI"
    )
    pdf.ln(1)
    pdf.line_of(
        "Forme du don :",
        f"{_box(False)} Acte authentique  {_box(False)} Acte sous seing privé  "
        f"{_box(True)} Déclaration de don manuel  {_box(False)} Autres",
    )
    pdf.line_of(
        "Nature du don :",
        f"{_box(True)} Numéraire  {_box(False)} Titres de sociétés cotés  {_box(False)} Autres",
    )
    pdf.line_of(
        "Mode de versement :",
        f"{_box(False)} Remise d'espèces  {_box(False)} Chèque  "
        f"{_box(True)} Virement, prélèvement, carte bancaire",
    )
    pdf.text_line(
        "Versement électronique depuis le porte-monnaie Payez du donateur vers celui du "
        "bénéficiaire."
    )
    pdf.ln(4)
    pdf.line_of("Date d'émission :", _day(receipt.issued_at.astimezone(PARIS).date()))
    pdf.line_of("Signature :", f"{receipt.association_name}, par l'intermédiaire de Payez")
    return bytes(pdf.output())
