import { trust_check } from "./bindings";
import { Sender } from "./netlink/io";
import { E_NO_CREDENTIALS, E_UNTRUSTED_SENDER, OK } from "./status";

// Who may speak for the other side. On NETLINK_USERSOCK any local process can send to any port,
// so a port number proves nothing; the kernel-attested credentials of each datagram
// (SCM_CREDENTIALS) do. Port 0 is the kernel itself and needs no credentials.

/** Only senders with this uid (default 0: root, as iwpmd runs). */
export const TRUST_UID: u32 = 0;
/** Anyone: credentials are not checked (a host without them, or a user who opts out). */
export const TRUST_ANY: u32 = 1;
/** The host decides (trust_check import), for policies beyond one uid. */
export const TRUST_HOST: u32 = 2;

export class TrustPolicy {
  mode: u32 = TRUST_UID;
  uid: u32 = 0;
  /** Datagrams handled from senders nobody attested (TRUST_ANY on a host without credentials). */
  unverified: u32 = 0;

  /** OK, or the reason the sender is not trusted. */
  check(s: Sender): i32 {
    if (s.port == 0) return OK;
    if (this.mode == TRUST_ANY) {
      if (!s.hasCreds) this.unverified++;
      return OK;
    }
    if (!s.hasCreds) return E_NO_CREDENTIALS;
    if (this.mode == TRUST_UID) return s.uid == this.uid ? OK : E_UNTRUSTED_SENDER;
    return trust_check(s.pid, s.uid, s.gid) != 0 ? OK : E_UNTRUSTED_SENDER;
  }
}
