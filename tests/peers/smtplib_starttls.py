"""STARTTLS with Python's smtplib, verifying ringwall's certificate against a
test CA (host name checked too), then one message. Prints one fact per line:

    ehlo CODE FEATURES...    before STARTTLS
    starttls CODE TEXT       the reply to STARTTLS
    tls VERSION CIPHER       what the handshake agreed on
    ehlo CODE FEATURES...    inside TLS
    sent                     the message was accepted

Usage: smtplib_starttls.py HOST PORT CA_FILE
"""

import smtplib
import ssl
import sys


def main() -> None:
    host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    context = ssl.create_default_context(cafile=ca)
    with smtplib.SMTP(host, port, local_hostname="client.example", timeout=10) as smtp:
        code, _ = smtp.ehlo()
        print("ehlo", code, " ".join(sorted(smtp.esmtp_features)))
        code, text = smtp.starttls(context=context)
        print("starttls", code, text.decode())
        cipher = smtp.sock.cipher()
        print("tls", smtp.sock.version(), cipher[0])
        code, _ = smtp.ehlo()
        print("ehlo", code, " ".join(sorted(smtp.esmtp_features)))
        smtp.sendmail(
            "a@sender.example",
            ["u@example.net"],
            "Subject: smtplib over TLS\r\nMessage-ID: <smtplib-tls@sender.example>\r\n\r\nhello\r\n",
        )
        print("sent")


if __name__ == "__main__":
    main()
