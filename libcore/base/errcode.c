/* errcode.c --- names and errno classes of BT_ERR_* codes. */
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"

static const int bt_err_classes[] = {
#define x(class, name) [BT_ERR_##name - BT_ERR_START] = class,
	BT_ERRCODES()
#undef x
};

static const char *const bt_err_names[] = {
#define x(class, name) [BT_ERR_##name - BT_ERR_START] = #name,
	BT_ERRCODES()
#undef x
};

int bt_err_class(int err)
{
	err = abs(err);
	if (err > BT_ERR_START && err < BT_ERR_MAX)
		return bt_err_classes[err - BT_ERR_START];
	return err;
}

const char *bt_err_str(int err)
{
	err = abs(err);
	if (err > BT_ERR_START && err < BT_ERR_MAX)
		return bt_err_names[err - BT_ERR_START];
	return strerror(err);
}
