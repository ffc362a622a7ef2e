"""CFPB-style complaint taxonomy and narrative writer for the demo bank.

Each (product, issue) has its own pool of sentences, so the text of a narrative clearly depends on its
product and issue — the property synthbank's text engine must learn and its evaluation checks. Like real
CFPB narratives, most personal details are masked as ``XXXX``, but some narratives quote the customer's
own name, email or phone, so that PII scrubbing has real work to do.
"""

from __future__ import annotations

import numpy as np

#: product → (sub-products, {issue: sentences})
CATALOG: dict[str, tuple[list[str], dict[str, list[str]]]] = {
    "Credit card": (
        ["General-purpose credit card", "Store credit card"],
        {
            "Late fee": [
                "I was charged a late fee of {amount} even though my payment was sent {days} days before the due date.",
                "The card issuer says the payment posted late but my bank statement shows it left my account on time.",
                "This is the third late fee on my credit card this year and every time the payment was on time.",
                "I asked them to waive the late fee and the representative refused without looking at my payment history.",
                "The late fee pushed my balance over the limit and then they added an over-limit charge too.",
                "My autopay was set up correctly, but the statement still shows a late payment fee.",
            ],
            "Purchase shown on statement": [
                "There is a charge of {amount} on my credit card statement from a merchant I have never heard of.",
                "I disputed the purchase on my card and the issuer closed the dispute saying the charge was valid.",
                "I returned the item and have the receipt, but the credit never appeared on my statement.",
                "The merchant charged my card twice for the same purchase and the card company will not reverse it.",
                "Someone used my card number for online purchases while the physical card was in my wallet.",
                "The chargeback was denied because they claim I did not provide documents, which I sent twice.",
            ],
            "Closing your account": [
                "My credit card account was closed without any notice and my credit limit disappeared.",
                "I asked to close the card and they kept charging the annual fee of {amount} afterwards.",
                "Closing the account lowered my credit score because they reported it as closed by the grantor.",
                "They closed my card for inactivity even though I used it every month.",
                "I paid the balance in full to close the account, yet interest kept being added.",
            ],
        },
    ),
    "Mortgage": (
        ["Conventional home mortgage", "FHA mortgage"],
        {
            "Trouble during payment process": [
                "My mortgage payment of {amount} was applied to the escrow account instead of the principal.",
                "The servicer changed and my monthly mortgage payment was returned as not received.",
                "The escrow analysis increased my payment by {amount} a month with no explanation of the property tax change.",
                "They reported my mortgage as {days} days late although the payment cleared before the grace period ended.",
                "Since the loan was transferred to a new servicer, my payments are not showing up on the mortgage statement.",
            ],
            "Applying for a mortgage": [
                "The lender delayed the closing on my home for weeks and my rate lock expired.",
                "During the mortgage application the loan officer changed the closing costs at the last minute.",
                "My home loan was denied after the appraisal even though I was pre-approved.",
                "They asked for the same income documents for the mortgage underwriting four times.",
                "The loan estimate showed one interest rate and the closing disclosure showed a much higher one.",
            ],
            "Struggling to pay mortgage": [
                "I lost my job and applied for a loan modification, but the servicer keeps losing my paperwork.",
                "They started foreclosure on my house while my forbearance request was still under review.",
                "I was promised a repayment plan for the missed mortgage payments and then the offer was withdrawn.",
                "The servicer added {amount} in foreclosure fees while I was in a trial modification.",
                "I need help keeping my home and nobody at the mortgage company returns my calls.",
            ],
        },
    ),
    "Student loan": (
        ["Federal student loan servicing", "Private student loan"],
        {
            "Dealing with your lender or servicer": [
                "My student loan servicer applied my extra payment to future interest instead of the principal.",
                "I was placed in forbearance without asking and interest of {amount} was capitalized on my student loan.",
                "The servicer lost my income-driven repayment application for the second time.",
                "My student loans were transferred to a new servicer and my payment count for forgiveness was reset.",
                "They told me my public service loan forgiveness form was incomplete but never said what was missing.",
            ],
            "Struggling to repay your loan": [
                "My student loan payment is {amount} a month and I cannot afford it on my salary.",
                "I asked for an income-driven plan for my student debt and was only offered forbearance.",
                "The private student loan lender refuses any hardship option even though I am unemployed.",
                "My cosigner is being contacted about the student loan even though I am making payments.",
                "I graduated during a hard job market and the student loan balance keeps growing from interest.",
            ],
        },
    ),
    "Personal loan": (
        ["Installment loan", "Payday loan"],
        {
            "Charged fees or interest you didn't expect": [
                "The personal loan agreement said {rate}% interest but I am being charged far more.",
                "An origination fee of {amount} was taken out of my loan without being disclosed.",
                "I was charged a prepayment penalty when I paid off the installment loan early.",
                "The payday lender rolled over my loan and added new finance charges each time.",
                "My loan statement shows fees that were never explained when I signed.",
            ],
            "Problem with the payoff process": [
                "I paid off my personal loan in full but the lender still shows a balance of {amount}.",
                "The payoff quote they gave me was wrong and now they say I owe more.",
                "After the final payment they kept withdrawing installments from my checking account.",
                "My loan was paid off months ago and the lien release or paid-in-full letter never arrived.",
                "The lender reports the paid loan as delinquent on my credit report.",
            ],
            "Getting the loan": [
                "I was approved for a personal loan and then the funds were never disbursed.",
                "The lender pulled my credit several times while processing a single loan application.",
                "They denied my loan application without giving a reason or an adverse action notice.",
                "The loan amount deposited was {amount} less than what my contract says.",
            ],
        },
    ),
    "Checking or savings account": (
        ["Checking account", "Savings account"],
        {
            "Managing an account": [
                "The bank froze my checking account and will not tell me why or when I can access my money.",
                "An overdraft fee of {amount} was charged even though I had opted out of overdraft coverage.",
                "My direct deposit was held for {days} days and my rent payment bounced.",
                "The bank reordered my debit card transactions to create more overdraft fees.",
                "I deposited a check and the hold on the funds was extended again without notice.",
            ],
            "Problem with a lender or other company charging your account": [
                "A company I never authorized keeps taking {amount} from my checking account every month.",
                "I revoked the ACH authorization and the bank still allows the lender to debit my account.",
                "The bank refused to stop a recurring payment even after I filed a written stop payment order.",
                "Unauthorized withdrawals were made from my savings account and the bank says it is my fault.",
            ],
            "Opening an account": [
                "The bank advertised a {amount} bonus for opening a checking account and never paid it.",
                "My application to open a savings account was denied because of an error in my banking history report.",
                "They opened a second account in my name that I never requested.",
                "I was required to deposit money to open the account and then it was closed the same week.",
            ],
        },
    ),
    "Debt collection": (
        ["Credit card debt", "Medical debt"],
        {
            "Attempts to collect debt not owed": [
                "A debt collector is trying to collect {amount} for a debt I already paid years ago.",
                "The collection agency says I owe a medical bill that my insurance covered in full.",
                "This debt is not mine and the collector refuses to send any proof of the original account.",
                "The collector added interest and fees to an old balance that was settled.",
                "I disputed the collection account in writing and they kept reporting it to the credit bureaus.",
            ],
            "Written notification about debt": [
                "I never received a validation notice from the debt collector before they reported the debt.",
                "The collection letter does not say who the original creditor was or how the amount was calculated.",
                "I asked for written verification of the debt and they only called me instead.",
                "The letter from the collector threatened legal action that they are not allowed to take.",
            ],
            "Communication tactics": [
                "The debt collector calls me several times a day, including at work after I told them to stop.",
                "They called my family members and told them about my debt.",
                "The collector used abusive language on the phone and threatened to have me arrested.",
                "I get calls before 8 in the morning from a collection agency about a debt of {amount}.",
            ],
        },
    ),
}

#: How often each product is the subject of a complaint that is not tied to a loan.
PRODUCT_WEIGHTS = {
    "Credit card": 0.27, "Checking or savings account": 0.22, "Debt collection": 0.19,
    "Mortgage": 0.14, "Student loan": 0.09, "Personal loan": 0.09,
}

_OPENERS = [
    "I am writing to file a complaint about {company}.",
    "I have been a customer of {company} for {years} years and I have never had a problem like this.",
    "On XX/XX/{year} I contacted {company} about my account ending in XXXX.",
    "I need help with a problem that {company} has refused to fix.",
    "This complaint is about my account with {company}.",
    "I am very frustrated with how {company} has handled my situation.",
]
_DETAILS = [
    "I called customer service on XX/XX/{year} and spent over an hour on hold.",
    "I have sent letters and copies of my statements but nothing has changed.",
    "The representative promised to call me back within {days} days and never did.",
    "Each time I call I am transferred to a different department.",
    "I have kept records of every call and the reference numbers they gave me.",
    "This has been going on for {months} months now.",
    "My credit score dropped because of this problem.",
    "I was told a supervisor would review the case, but I have not heard anything since.",
]
_CLOSERS = [
    "I want this corrected and the charges refunded.",
    "Please help me get this resolved.",
    "I am asking the CFPB to look into this practice.",
    "I would like a written explanation and a correction to my account.",
    "I expect {company} to fix this and to stop reporting it to the credit bureaus.",
    "Thank you for your help with this matter.",
]
_COMPANIES = ["the bank", "my lender", "the company", "the servicer", "Demo Bank"]

MIN_WORDS, MAX_WORDS = 40, 200


def write_narrative(rng: np.random.Generator, product: str, issue: str, *, name: str | None = None,
                    email: str | None = None, phone: str | None = None) -> str:
    """One complaint narrative of 40–200 words about ``product`` / ``issue``."""
    core = list(CATALOG[product][1][issue])
    rng.shuffle(core)

    def fill(sentence: str) -> str:
        return sentence.format(
            amount=f"${rng.choice([25, 29, 35, 39, 75, 120, 250, 480, 1200, 2500, 4800]):,}"
            if "{amount}" in sentence else "",
            days=int(rng.integers(2, 30)), months=int(rng.integers(2, 14)), years=int(rng.integers(2, 20)),
            year=int(rng.integers(2019, 2025)), rate=float(rng.choice([5.9, 7.5, 9.99, 12.5, 18.0])),
            company=str(rng.choice(_COMPANIES)),
        )

    sentences = [fill(str(rng.choice(_OPENERS)))]
    if name is not None:
        sentences.insert(0, f"My name is {name}.")
    sentences += [fill(s) for s in core[: int(rng.integers(2, 5))]]
    sentences += [fill(str(s)) for s in rng.choice(_DETAILS, size=int(rng.integers(0, 3)), replace=False)]
    if email is not None:
        sentences.append(f"You can reach me at {email}.")
    if phone is not None:
        sentences.append(f"My phone number is {phone}.")
    sentences.append(fill(str(rng.choice(_CLOSERS))))
    remaining = iter(core[4:] + _DETAILS)
    while len(" ".join(sentences).split()) < MIN_WORDS:
        sentences.insert(-1, fill(next(remaining)))
    words = " ".join(sentences).split()
    return " ".join(words[:MAX_WORDS])
