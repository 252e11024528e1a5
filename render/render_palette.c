/* render_palette.c - class colours and theme colours. */
#include "render/render_palette.h"

#include <math.h>

/* matplotlib's tab10 */
static const uint32_t tab10[10] = {
	0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
	0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
};

/* distinct colours that do not repeat tab10's hues (glasbey-like order) */
static const uint32_t more[22] = {
	0x0b3d91, 0xf2a900, 0x00a087, 0xa50f15, 0x6a3d9a, 0xb15928,
	0x3cb44b, 0xf032e6, 0x008080, 0x9a6324, 0x4363d8, 0x800000,
	0x808000, 0x000075, 0xe6194b, 0x469990, 0xaaaa00, 0x911eb4,
	0xfabebe, 0x42d4f4, 0xffd8b1, 0xbfef45,
};

static render_rgb
unpack(uint32_t v)
{
	render_rgb c = {
		((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0,
	};
	return c;
}

uint32_t
render_rgb_pack(render_rgb c)
{
	int r = (int)lround(fmin(fmax(c.r, 0), 1) * 255);
	int g = (int)lround(fmin(fmax(c.g, 0), 1) * 255);
	int b = (int)lround(fmin(fmax(c.b, 0), 1) * 255);

	return 0xff000000u | (uint32_t)r << 16 | (uint32_t)g << 8 | (uint32_t)b;
}

render_rgb
render_rgb_mix(render_rgb a, render_rgb b, double t)
{
	render_rgb c = {
		a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t,
	};
	return c;
}

/* HSV to RGB, h in turns. */
static render_rgb
hsv(double h, double s, double v)
{
	double f = (h - floor(h)) * 6.0;
	int i = (int)f % 6;
	double p = v * (1 - s), q = v * (1 - s * (f - (int)f)), t = v * (1 - s * (1 - (f - (int)f)));
	render_rgb c;

	switch (i) {
	case 0: c = (render_rgb){ v, t, p }; break;
	case 1: c = (render_rgb){ q, v, p }; break;
	case 2: c = (render_rgb){ p, v, t }; break;
	case 3: c = (render_rgb){ p, q, v }; break;
	case 4: c = (render_rgb){ t, p, v }; break;
	default: c = (render_rgb){ v, p, q }; break;
	}
	return c;
}

render_rgb
render_class_color(int i, int theme)
{
	render_rgb c;

	if (i < 0)
		i = 0;
	if (i < 10)
		c = unpack(tab10[i]);
	else if (i < 32)
		c = unpack(more[i - 10]);
	else {
		int k = i - 32;

		c = hsv(k * 0.381966011, 0.55 + 0.3 * (k % 3) / 2.0, 0.95 - 0.25 * ((k / 3) % 3) / 2.0);
	}
	if (theme == RENDER_THEME_DARK) {
		render_rgb white = { 1, 1, 1 };

		c = render_rgb_mix(c, white, 0.12);
	}
	return c;
}

void
render_theme_colors_get(int theme, render_theme_colors *c)
{
	if (theme == RENDER_THEME_DARK) {
		c->bg = unpack(0x0f1218);
		c->panel = unpack(0x161a22);
		c->fg = unpack(0xeceff4);
		c->muted = unpack(0x9aa4b2);
		c->grid = unpack(0x262c37);
		c->axis = unpack(0x3c4452);
		c->train = unpack(0x7cc4ff);
		c->eval = unpack(0xffb454);
		c->alert = unpack(0xff4d6d);
		c->ok = unpack(0x5bd98a);
	} else {
		c->bg = unpack(0xffffff);
		c->panel = unpack(0xfafbfc);
		c->fg = unpack(0x1b1f24);
		c->muted = unpack(0x5b6470);
		c->grid = unpack(0xe4e7ec);
		c->axis = unpack(0xb9c0ca);
		c->train = unpack(0x1f5fbf);
		c->eval = unpack(0xe8710a);
		c->alert = unpack(0xd1003f);
		c->ok = unpack(0x1a8f4a);
	}
}
