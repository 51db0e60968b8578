/* Freestanding helpers: serial console, printf, timing, exit. */
#include "lib.h"

#define COM1 0x3F8

void serial_init(void)
{
    outb(COM1 + 1, 0x00);   /* no interrupts: we poll */
    outb(COM1 + 3, 0x80);   /* DLAB */
    outb(COM1 + 0, 0x01);   /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);   /* 8N1 */
    outb(COM1 + 2, 0xC7);   /* FIFO on */
}

static void serial_putc(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

void kputs(const char *s)
{
    while (*s) {
        if (*s == '\n')
            serial_putc('\r');
        serial_putc(*s++);
    }
}

/* The formatter writes through a sink: the serial port (kprintf) or a
 * buffer (ksnprintf). */
struct sink {
    void (*put)(struct sink *k, char c);
    char *buf;
    size_t len, size;
};

static void serial_sink(struct sink *k, char c)
{
    (void)k;
    if (c == '\n')
        serial_putc('\r');
    serial_putc(c);
}

static void buf_sink(struct sink *k, char c)
{
    if (k->len + 1 < k->size)
        k->buf[k->len] = c;
    k->len++;
}

static void put_str(struct sink *k, const char *s)
{
    while (*s)
        k->put(k, *s++);
}

static void put_num(struct sink *k, uint64_t v, unsigned base, int width, char pad, int neg)
{
    char buf[24];
    int n = 0;

    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        buf[n++] = '-';
    while (n < width)
        buf[n++] = pad;
    while (n)
        k->put(k, buf[--n]);
}

/* Supports %s %c %d %u %x %p, the l/ll modifiers and a 0-padded width. */
static void vformat(struct sink *k, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            k->put(k, *fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 's': put_str(k, va_arg(ap, const char *)); break;
        case 'c': k->put(k, (char)va_arg(ap, int)); break;
        case 'd': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(k, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u':
            put_num(k, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, 0);
            break;
        case 'x':
            put_num(k, lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, 0);
            break;
        case 'p':
            put_str(k, "0x");
            put_num(k, (uint64_t)va_arg(ap, void *), 16, width, pad, 0);
            break;
        case '%': k->put(k, '%'); break;
        default: k->put(k, '?'); break;
        }
    }
}

void kvprintf(const char *fmt, va_list ap)
{
    struct sink k = { .put = serial_sink };
    vformat(&k, fmt, ap);
}

void kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}

size_t ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    struct sink k = { .put = buf_sink, .buf = buf, .size = size };
    va_list ap;

    va_start(ap, fmt);
    vformat(&k, fmt, ap);
    va_end(ap);
    if (size)
        buf[k.len < size ? k.len : size - 1] = 0;
    return k.len;
}

void fmt_uuid(char out[37], const uint8_t *u)
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[u[i] >> 4];
        *p++ = hex[u[i] & 15];
    }
    *p = 0;
}

void print_uuid(const uint8_t *u)
{
    char s[37];

    fmt_uuid(s, u);
    kputs(s);
}

void print_fixed3(uint64_t milli)
{
    kprintf("%lu.%03lu", milli / 1000, milli % 1000);
}

/*
 * TSC calibration against the i8254 PIT (1.193182 MHz).
 *
 * Under TCG, RDTSC returns the host's cycle counter (cpu_get_host_ticks())
 * and the PIT runs on QEMU_CLOCK_VIRTUAL, i.e. host monotonic time while the
 * VM runs, so this measures the host TSC rate in real time.  We program
 * channel 0 as a free-running rate generator (interrupts are off, so IRQ0 is
 * never taken), latch-read it in a loop and count elapsed PIT ticks across
 * wrap-arounds for about 100 ms.
 */
#define PIT_HZ 1193182ULL
uint64_t tsc_khz;

static uint16_t pit_read0(void)
{
    outb(0x43, 0x00);                   /* latch channel 0 */
    uint8_t lo = inb(0x40);
    uint8_t hi = inb(0x40);
    return (uint16_t)(lo | (hi << 8));
}

void tsc_calibrate(void)
{
    const uint64_t want = PIT_HZ / 10;  /* 100 ms of PIT ticks */
    uint64_t ticks = 0, t0, t1;
    uint16_t prev, cur;

    outb(0x43, 0x34);                   /* ch0, lo/hi, mode 2, binary */
    outb(0x40, 0x00);                   /* reload 0 = 65536 */
    outb(0x40, 0x00);

    prev = pit_read0();
    /* start on a tick edge so the rounding error is under one PIT tick */
    while ((cur = pit_read0()) == prev)
        ;
    t0 = rdtsc();
    prev = cur;
    while (ticks < want) {
        cur = pit_read0();
        ticks += (uint16_t)(prev - cur);  /* down-counter, wraps at 2^16 */
        prev = cur;
    }
    t1 = rdtsc();
    tsc_khz = (t1 - t0) * PIT_HZ / ticks / 1000;
}

uint64_t tsc_ns(uint64_t cycles)
{
    return cycles * 1000000ULL / tsc_khz;  /* no overflow below ~1.5 h at 3 GHz */
}

void delay_ms(uint64_t ms)
{
    uint64_t end = rdtsc() + ms * tsc_khz;
    while (rdtsc() < end)
        __asm__ volatile("pause");
}

/* isa-debug-exit at 0xf4: QEMU exits with status (code << 1) | 1. */
void qemu_exit(int code)
{
    outl(0xf4, (uint32_t)code);
    for (;;)
        __asm__ volatile("cli; hlt");
}

void *memset(void *d, int c, size_t n)
{
    uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            break;
    }
    return 0;
}
