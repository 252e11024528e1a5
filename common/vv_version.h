/*
 * vv_version.h - the vitviz version, in this one place: `vitviz --version`
 * prints it and every work-folder manifest records it (vitviz_version).
 */
#ifndef VV_VERSION_H
#define VV_VERSION_H

#define VV_VERSION "0.1.0"

#endif
