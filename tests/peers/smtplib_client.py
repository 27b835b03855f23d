"""Talks to ringwall with Python's smtplib, the client library behind many
scripts and web applications, and prints what it saw, one fact per line:

    ehlo CODE FEATURES...        the EHLO reply code and the extensions smtplib parsed
    refused RCPT CODE TEXT       a recipient refused while the message went to the others
    all refused RCPT CODE TEXT   a recipient refused when it was the only one
    noop CODE TEXT               the session still answers afterwards
    quit                         QUIT was answered

Usage: smtplib_client.py HOST PORT
"""

import smtplib
import sys
from email.message import EmailMessage


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    with smtplib.SMTP(host, port, local_hostname="client.example", timeout=10) as smtp:
        code, _ = smtp.ehlo()
        print("ehlo", code, " ".join(sorted(smtp.esmtp_features)))

        message = EmailMessage()
        message["From"] = "Alice <a@sender.example>"
        message["To"] = "u@example.net"
        message["Subject"] = "smtplib"
        message["Message-ID"] = "<smtplib@sender.example>"
        message.set_content(".leading dot\nplain line\n")
        refused = smtp.send_message(
            message,
            from_addr="a@sender.example",
            to_addrs=["u@example.net", "x@elsewhere.example"],
        )
        for rcpt, (code, text) in sorted(refused.items()):
            print("refused", rcpt, code, text.decode())

        try:
            smtp.sendmail("a@sender.example", ["x@elsewhere.example"], "Subject: no\r\n\r\nno\r\n")
        except smtplib.SMTPRecipientsRefused as error:
            for rcpt, (code, text) in sorted(error.recipients.items()):
                print("all refused", rcpt, code, text.decode())

        code, text = smtp.noop()
        print("noop", code, text.decode())
    print("quit")


if __name__ == "__main__":
    main()
