/* Descriptor layouts shared by the Node addon (iwpm_native.c) and the core's receive and
 * transmit areas. All fields are little-endian u32/i32 at the offsets below. */
#ifndef IWPM_LAYOUT_H
#define IWPM_LAYOUT_H

/* RX descriptor: one per received datagram, written by netlinkRecv */
#define IWPM_RX_DESC_SIZE 32
#define IWPM_RX_LEN     0   /* u32: the datagram's full length (> slot size when truncated) */
#define IWPM_RX_PORT    4   /* u32: source nl_pid */
#define IWPM_RX_GROUPS  8   /* u32: source nl_groups (multicast) */
#define IWPM_RX_PID    12   /* u32: SCM_CREDENTIALS pid */
#define IWPM_RX_UID    16   /* u32: SCM_CREDENTIALS uid */
#define IWPM_RX_GID    20   /* u32: SCM_CREDENTIALS gid */
#define IWPM_RX_FLAGS  24   /* u32: IWPM_RXF_* */
#define IWPM_RXF_CREDS 1u   /* credentials present */
#define IWPM_RXF_TRUNC 2u   /* longer than the slot: only slotSize bytes were stored */
/* TX descriptor: one per datagram to send, read by netlinkSend */
#define IWPM_TX_DESC_SIZE 24
#define IWPM_TX_PTR     0   /* u32: offset of the bytes in memory */
#define IWPM_TX_LEN     4   /* u32 */
#define IWPM_TX_PORT    8   /* u32: destination nl_pid */
#define IWPM_TX_GROUPS 12   /* u32: destination nl_groups */
#define IWPM_TX_ERRNO  16   /* i32: written by the host: 0 sent, else the Linux errno */
#define IWPM_TX_TAG    20   /* u32: the core's own; the host leaves it alone */

#endif
