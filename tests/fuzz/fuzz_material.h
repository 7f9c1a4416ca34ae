/* fuzz_material.h - fixed test material of the fuzz harnesses, made with the openssl CLI: three
   public keys, a CA certificate, and the message the seeds' signatures sign (seeds/keys/sig_*,
   seeds/cms/). Test material only: the private keys were not kept, but for the P-256 one, itself
   a seed of the private-key reader (seeds/keys/private_*), which protects nothing. */
#ifndef SGS_FUZZ_MATERIAL_H
#define SGS_FUZZ_MATERIAL_H

static const char fuzz_message[] = "sigsweep fuzz message\n";

static const char fuzz_rsa_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAq3cSYV+6zMTXVyCBMz1W\n"
    "1np/v3Osx30gNi+mAUk1S3ZlcU49pOXTHwPE2g8rBMO+iucSSCFF0ade5x98dgBw\n"
    "WTurT8P9zxGGWbJRVJ7kmIelZmPLhuiM2m6+D+jXjgaDedTXJQgtekJBdCGjQqRq\n"
    "4R+M9rr8Eb2+wRlN/pD0bObzdCfQEXO/yiLDKHdgL7If2lW79RmLEZQG3gkiFquJ\n"
    "cSoAM6GLJt8Dlbz3a4QnigWcZELFddCChk8Z+BAkF8LjPuN98gA4HheCk1GWq5jS\n"
    "G28HP33AyYCQTzpWZnzp8iLiRAhAp7q+PjOs6IPK3kYb7HoBC1StCZ3SpOie10XN\n"
    "AwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static const char fuzz_ec_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgmf5DUjc8lNAg/bGfG7PT10EE5fh\n"
    "+ID9rZyXwG6P6qAl8fzf4LidzVERoHfi82eR8yUpw0+ivStsmpJ5AxRN5Q==\n"
    "-----END PUBLIC KEY-----\n";

static const char fuzz_ed_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAnc8xOl7kdUV/mf4MpK82g30TMKe/NYLi8L16F/EbSHE=\n"
    "-----END PUBLIC KEY-----\n";

static const char fuzz_ca_crt[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDFzCCAf+gAwIBAgIUfYG3cJHyANR10iZVlVEbKhRr/V8wDQYJKoZIhvcNAQEL\n"
    "BQAwEjEQMA4GA1UEAwwHZnV6eiBDQTAgFw0yNjEyMDUwODM0MzNaGA8yMTI2MTEx\n"
    "MTA4MzQzM1owEjEQMA4GA1UEAwwHZnV6eiBDQTCCASIwDQYJKoZIhvcNAQEBBQAD\n"
    "ggEPADCCAQoCggEBANJcC2405Cdorn7gPS2exlXGC4m8xecTd1ZpHYfUzmOfdekz\n"
    "ZhafQJ05GRUK8EQqc2KrJDMAwUuYUu4Z1bVRLFBurYiofBbM3WOmaGksScMT7eEq\n"
    "lMiQsCR1qqx3ycm4kjuMd7RakDlnr5oCnD6ndP0qFCa/9PYPAWRHL0z03odg9OoG\n"
    "73XuXEXaN5futA/1R7SwMVBtzsE6HbCQy2CnUEwxer+LTNJ1P91f4SCvAZKUyqgB\n"
    "fNgawAWA6aPWelICYoEId/LIVBIMWPITGY0BTn0MH0wWPnT6gKRe0l3EvDZbGMTZ\n"
    "0kfPU+hUyGoGeifiK3l/Y5Uxy0BZRoEWmigKXA8CAwEAAaNjMGEwHQYDVR0OBBYE\n"
    "FGd7n+FqPfNy7Km5Jioz3651G8iHMB8GA1UdIwQYMBaAFGd7n+FqPfNy7Km5Jioz\n"
    "3651G8iHMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMA0GCSqGSIb3\n"
    "DQEBCwUAA4IBAQB2Pdhte5o1aCVdLxS4mBdjDd1+Wy96J1ETDUrWbvio67EjJcsf\n"
    "1LMqH6eAIt/JA9+FwBZzmcCDvEytkg+2yo6yxDyu6ywYxtjQK3KH6E+eGU68N/DF\n"
    "SJTR7LYzwoQsh6QpVzjV7XXiOnhtbTDU3llOhY4DPHa6AJojfdYDVKpmqWRMLQqf\n"
    "oru/iY7o095qRpw0whp5Zz81Z91k3RC3S2shIBUs8tvLMisMFd3TnSSvM8xNXm1Y\n"
    "GTfdFu8t07P5rc84ViZYSPwxM1HthvYCvOsxul69wjdCHJCs3+8pR0Ms/N6c1JoI\n"
    "LJSjxvIMZl2+8r2P3dVlzZ7uzKlytE5vCcA9\n"
    "-----END CERTIFICATE-----\n";

#endif
