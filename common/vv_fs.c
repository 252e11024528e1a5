/* vv_fs.c - crash-safe outputs, bounded reads, sorted listings. */
#include "common/vv_fs.h"
#include "common/vv_error.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *
vv_strdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		vv_error(VV_ENOMEM, "out of memory");
	return d;
}

int
vv_outfile_open(vv_outfile **pf, const char *path)
{
	vv_outfile *f;
	size_t n = strlen(path);
	int fd;

	*pf = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return vv_error(VV_ENOMEM, "out of memory");
	f->path = strdup(path);
	/* "<path>.tmp.<pid>.XXXXXX": the pid tells vv_clean_stale_tmp() whether
	 * the writer is still alive */
	f->tmp = malloc(n + sizeof(".tmp.4294967295.XXXXXX"));
	if (!f->path || !f->tmp)
		goto out_nomem;
	sprintf(f->tmp, "%s.tmp.%u.XXXXXX", path, (unsigned)getpid());
	fd = mkstemp(f->tmp);
	if (fd < 0) {
		int e = errno;

		free(f->path);
		free(f->tmp);
		free(f);
		return vv_error(VV_EIO, "%s: cannot create: %s", path, strerror(e));
	}
	fchmod(fd, 0644);
	f->fp = fdopen(fd, "wb");
	if (!f->fp) {
		close(fd);
		unlink(f->tmp);
		goto out_nomem;
	}
	*pf = f;
	return 0;

out_nomem:
	free(f->path);
	free(f->tmp);
	free(f);
	return vv_error(VV_ENOMEM, "out of memory");
}

static void
outfile_release(vv_outfile **pf)
{
	free((*pf)->path);
	free((*pf)->tmp);
	free(*pf);
	*pf = NULL;
}

/*
 * Make a rename in `path`'s folder durable: fsync the folder itself, or a
 * power loss after the rename can lose the new name (and so the finished
 * file).  File systems that cannot sync a folder (EINVAL) are left as they
 * are; any other failure is returned as an errno.
 */
static int
sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, e = 0;

	if (!slash)
		dir = vv_strdup(".");
	else if (slash == path)
		dir = vv_strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		e = errno;
	else if (fsync(fd) != 0 && errno != EINVAL)
		e = errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return e;
}

int
vv_outfile_commit(vv_outfile **pf)
{
	vv_outfile *f = *pf;
	int err = 0, e = 0;

	if (!f)
		return 0;
	if (fflush(f->fp) != 0 || ferror(f->fp) || fsync(fileno(f->fp)) != 0)
		e = errno ? errno : EIO;
	if (fclose(f->fp) != 0 && !e)
		e = errno ? errno : EIO;
	f->fp = NULL;
	if (!e && rename(f->tmp, f->path) != 0)
		e = errno;
	if (e) {
		unlink(f->tmp);
		err = vv_error(VV_EIO, "%s: cannot write: %s", f->path, strerror(e));
	} else if ((e = sync_parent(f->path)) != 0) {
		/* the file is complete under its name; only its durability failed */
		err = vv_error(VV_EIO, "%s: cannot sync its folder: %s", f->path, strerror(e));
	}
	outfile_release(pf);
	return err;
}

void
vv_outfile_abort(vv_outfile **pf)
{
	if (!*pf)
		return;
	if ((*pf)->fp)
		fclose((*pf)->fp);
	unlink((*pf)->tmp);
	outfile_release(pf);
}

int
vv_write_file_atomic(const char *path, const void *data, size_t len)
{
	vv_outfile *f;
	int err = vv_outfile_open(&f, path);

	if (err)
		return err;
	if (len && fwrite(data, 1, len, f->fp) != len) {
		int e = errno;

		vv_outfile_abort(&f);
		return vv_error(VV_EIO, "%s: cannot write: %s", path, strerror(e));
	}
	return vv_outfile_commit(&f);
}

int
vv_read_file(const char *path, size_t max_len, char **buf, size_t *len)
{
	struct stat st;
	char *b;
	size_t got = 0;
	int fd, err = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vv_error(errno == ENOENT ? VV_ENOTFOUND : VV_EREAD,
				"%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vv_error(VV_EREAD, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max_len) {
		close(fd);
		return vv_error(VV_EFORMAT, "%s: file of %lld bytes exceeds the %zu byte limit",
				path, (long long)st.st_size, max_len);
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return vv_error(VV_ENOMEM, "%s: out of memory", path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = vv_error(VV_EREAD, "%s: read failed: %s", path,
				       r < 0 ? strerror(errno) : "file shrank while reading");
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}

int
vv_mkdir_p(const char *path)
{
	char *p = vv_strdup(path);
	size_t i, n;

	if (!p)
		return VV_ENOMEM;
	n = strlen(p);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			int e = errno;

			vv_error(VV_EIO, "%s: cannot create directory: %s", p, strerror(e));
			free(p);
			return VV_EIO;
		}
		if (i < n)
			p[i] = '/';
	}
	free(p);
	if (!vv_is_dir(path))
		return vv_error(VV_EIO, "%s: exists and is not a directory", path);
	return 0;
}

int
vv_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
vv_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int64_t
vv_file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return vv_error(errno == ENOENT ? VV_ENOTFOUND : VV_EREAD,
				"%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vv_error(VV_EREAD, "%s: not a regular file", path);
	return st.st_size;
}

char *
vv_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p;

	while (la > 1 && a[la - 1] == '/')
		la--;
	p = malloc(la + lb + 2);
	if (!p) {
		vv_error(VV_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(p, a, la);
	if (la && a[la - 1] != '/')
		p[la++] = '/';
	memcpy(p + la, b, lb + 1);
	return p;
}

char *
vv_path_basename(const char *path)
{
	size_t n = strlen(path), s;
	char *r;

	while (n > 1 && path[n - 1] == '/')
		n--;
	s = n;
	while (s > 0 && path[s - 1] != '/')
		s--;
	r = malloc(n - s + 1);
	if (!r) {
		vv_error(VV_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(r, path + s, n - s);
	r[n - s] = '\0';
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
vv_list_dir(const char *path, char ***names, size_t *n)
{
	DIR *d;
	struct dirent *e;
	char **v = NULL;
	size_t cnt = 0, cap = 0;

	*names = NULL;
	*n = 0;
	d = opendir(path);
	if (!d)
		return vv_error(errno == ENOENT ? VV_ENOTFOUND : VV_EREAD,
				"%s: cannot open directory: %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nv = realloc(v, nc * sizeof(*v));

			if (!nv)
				goto out_nomem;
			v = nv;
			cap = nc;
		}
		v[cnt] = strdup(e->d_name);
		if (!v[cnt])
			goto out_nomem;
		cnt++;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*names = v;
	*n = cnt;
	return 0;

out_nomem:
	closedir(d);
	vv_strv_free(&v, cnt);
	return vv_error(VV_ENOMEM, "%s: out of memory listing directory", path);
}

void
vv_strv_free(char ***v, size_t n)
{
	size_t i;

	if (!*v)
		return;
	for (i = 0; i < n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
}

int
vv_file_fingerprint(const char *path, char out[40])
{
	enum { NBLOCK = 64, BLOCK = 16384 };
	unsigned char *buf;
	struct stat st;
	uint64_t h = 1469598103934665603ULL;
	int fd, i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vv_error(errno == ENOENT ? VV_ENOTFOUND : VV_EREAD,
				"%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return vv_error(VV_EREAD, "%s: %s", path, strerror(errno));
	}
	buf = malloc(BLOCK);
	if (!buf) {
		close(fd);
		return vv_error(VV_ENOMEM, "out of memory");
	}
	for (i = 0; i < NBLOCK; i++) {
		off_t off = st.st_size <= BLOCK ? 0
			  : (off_t)((double)(st.st_size - BLOCK) * i / (NBLOCK - 1));
		ssize_t r = pread(fd, buf, BLOCK, off), j;

		for (j = 0; j < r; j++) {
			h ^= buf[j];
			h *= 1099511628211ULL;
		}
		if (st.st_size <= BLOCK)
			break;
	}
	free(buf);
	close(fd);
	snprintf(out, 40, "%016llx%016llx", (unsigned long long)h,
		 (unsigned long long)((uint64_t)st.st_size * 1000003ULL ^
				      (uint64_t)st.st_mtim.tv_sec * 1000000000ULL ^
				      (uint64_t)st.st_mtim.tv_nsec));
	return 0;
}

/* 1 when `name` is "<something>.tmp.<pid>.XXXXXX" (*pid receives the pid). */
static int
parse_tmp_name(const char *name, unsigned long *pid)
{
	const char *t = NULL, *p, *q;
	size_t i;

	for (p = strstr(name, ".tmp."); p; p = strstr(p + 1, ".tmp."))
		t = p;
	if (!t || t == name)
		return 0;
	p = t + 5;
	for (q = p; *q >= '0' && *q <= '9'; q++)
		;
	if (q == p || q - p > 10 || *q != '.' || strlen(q + 1) != 6)
		return 0;
	for (i = 1; i <= 6; i++)
		if (!isalnum((unsigned char)q[i]))
			return 0;
	*pid = strtoul(p, NULL, 10);
	return *pid > 0;
}

int
vv_clean_stale_tmp(const char *dir, const char *prefix)
{
	char **names = NULL;
	size_t n = 0, i;
	int removed = 0, err;

	err = vv_list_dir(dir, &names, &n);
	if (err) {
		vv_error_clear();
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned long pid;
		struct stat st;
		char *p;

		if (prefix && strncmp(names[i], prefix, strlen(prefix)))
			continue;
		if (!parse_tmp_name(names[i], &pid) || pid == (unsigned long)getpid())
			continue;
		/* a live process (or one we may not signal) still owns it */
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		p = vv_path_join(dir, names[i]);
		if (p && lstat(p, &st) == 0 && S_ISREG(st.st_mode) && unlink(p) == 0)
			removed++;
		free(p);
	}
	vv_strv_free(&names, n);
	return removed;
}
