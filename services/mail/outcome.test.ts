import { describe, expect, it } from 'vitest';
import { classifyFailure, enhancedCode, type SmtpFailure } from './outcome.ts';

const reply = (command: string, response: string, code = 'EENVELOPE'): SmtpFailure => ({
  command,
  code,
  responseCode: Number(response.slice(0, 3)),
  response,
});

describe('classifyFailure', () => {
  it('bounces an address only for a recipient verdict about the mailbox', () => {
    expect(classifyFailure(reply('RCPT TO', '550 5.1.1 <gone@example.org>: user unknown'))).toBe('address-gone');
    expect(classifyFailure(reply('RCPT TO', '550 5.1.10 null MX'))).toBe('address-gone');
    expect(classifyFailure(reply('RCPT TO', '550 5.2.1 mailbox disabled'))).toBe('address-gone');
    // Servers without enhanced codes: a 5xx to RCPT TO is still about that recipient.
    expect(classifyFailure(reply('RCPT TO', '550 no such user here'))).toBe('address-gone');
    // One recipient per message: DATA's verdict about the mailbox is about that address.
    expect(classifyFailure(reply('DATA', '550 5.2.2 mailbox full for good', 'EMESSAGE'))).toBe('address-gone');
  });

  it('gives up a message refused for its content, size or policy, without a word about the address', () => {
    expect(classifyFailure(reply('DATA', '554 5.7.1 message content rejected', 'EMESSAGE'))).toBe('message-refused');
    expect(classifyFailure(reply('DATA', '552 5.3.4 message too big', 'EMESSAGE'))).toBe('message-refused');
    expect(classifyFailure(reply('DATA', '550 5.6.0 malformed message', 'EMESSAGE'))).toBe('message-refused');
    expect(classifyFailure(reply('DATA', '554 transaction failed', 'EMESSAGE'))).toBe('message-refused');
    expect(classifyFailure(reply('RCPT TO', '550 5.7.1 recipient refused by policy'))).toBe('message-refused');
    // Larger than the server's SIZE: nodemailer stops before MAIL FROM is sent.
    expect(classifyFailure({ command: 'MAIL FROM', code: 'EMESSAGE' })).toBe('message-refused');
  });

  it('blames the relay, not the list, for the sender, the session and the connection', () => {
    expect(classifyFailure(reply('MAIL FROM', '553 5.7.1 sender address rejected'))).toBe('relay-down');
    expect(classifyFailure(reply('MAIL FROM', '550 5.7.0 account suspended'))).toBe('relay-down');
    expect(classifyFailure(reply('MAIL FROM', '451 4.3.0 try again'))).toBe('relay-down');
    expect(classifyFailure(reply('AUTH PLAIN', '535 5.7.8 authentication failed', 'EAUTH'))).toBe('relay-down');
    expect(classifyFailure(reply('CONN', '554 5.7.1 no service for you', 'EPROTOCOL'))).toBe('relay-down');
    expect(classifyFailure(reply('EHLO', '550 go away', 'EPROTOCOL'))).toBe('relay-down');
    expect(classifyFailure({ command: 'CONN', code: 'ECONNECTION' })).toBe('relay-down');
    expect(classifyFailure({ code: 'ETIMEDOUT' })).toBe('relay-down');
    expect(classifyFailure({ code: 'ETLS', command: 'STARTTLS' })).toBe('relay-down');
    // 421 closes the session whatever it answers.
    expect(classifyFailure(reply('RCPT TO', '421 4.3.2 shutting down'))).toBe('relay-down');
    expect(classifyFailure(reply('DATA', '421 4.4.2 timeout', 'EMESSAGE'))).toBe('relay-down');
  });

  it('retries a temporary refusal of the recipient or the message', () => {
    expect(classifyFailure(reply('RCPT TO', '450 4.2.0 mailbox busy'))).toBe('retry');
    expect(classifyFailure(reply('RCPT TO', '451 4.7.1 greylisted, try again'))).toBe('retry');
    expect(classifyFailure(reply('DATA', '452 4.3.1 insufficient storage', 'EMESSAGE'))).toBe('retry');
  });
});

describe('enhancedCode', () => {
  it('reads class, subject and detail from the start of a reply', () => {
    expect(enhancedCode('550 5.1.1 user unknown')).toEqual([5, 1, 1]);
    expect(enhancedCode('550-5.7.26 unauthenticated mail')).toEqual([5, 7, 26]);
    expect(enhancedCode('550 user unknown 5.1.1')).toBeUndefined();
    expect(enhancedCode(undefined)).toBeUndefined();
  });
});
